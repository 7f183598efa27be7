import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { KubeSphereError } from '../kubesphere/errors.js';
import { mapFailures } from './to-failure.js';
import { formatElapsed, retryIntervalMs } from '../policy/retry.js';
import { kubeCall } from '../workflows/activity-options.js';
import { quietLogger } from '../../test/helpers/quiet-logger.js';

const MINUTE = 60_000;
const T0 = Date.parse('2026-11-30T10:00:00Z');
/** kubeCall's retry policy as the worker hands it to an activity (durations in ms) */
const KUBE_RETRY = { initialInterval: 500, backoffCoefficient: 1.5, maximumInterval: 10_000 };
const KUBE_SCHEDULE = { initialIntervalMs: 500, backoffCoefficient: 1.5, maximumIntervalMs: 10_000 };

/** An attempt of a kubeCall activity (15 s per attempt, 10 min in all), scheduled `afterMs` after the first. */
function attempt(attemptNo: number, afterMs: number, retry: object = KUBE_RETRY) {
  return new MockActivityEnvironment(
    {
      attempt: attemptNo,
      scheduledTimestampMs: T0,
      currentAttemptScheduledTimestampMs: T0 + afterMs,
      startToCloseTimeoutMs: 15_000,
      scheduleToCloseTimeoutMs: 10 * MINUTE,
      retryPolicy: retry,
    },
    { logger: quietLogger },
  );
}

const { ensure } = mapFailures({
  ensure: async () => {
    throw new KubeSphereError(
      'KS_UNAVAILABLE',
      'KubeSphere answered HTTP 500 to POST /kapis/iam.kubesphere.io/v1beta1/users',
    );
  },
});

async function failureOf(env: MockActivityEnvironment): Promise<ApplicationFailure> {
  const error = await env.run(ensure).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

describe('a transient failure', () => {
  it('is retried while the retry time allows another attempt', async () => {
    const failure = await failureOf(attempt(17, 3 * MINUTE));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe('KS_UNAVAILABLE');
    expect(failure.message).toBe('KubeSphere answered HTTP 500 to POST /kapis/iam.kubesphere.io/v1beta1/users');
  });

  it('on the last attempt the retry time allows, says it gave up, after how many attempts, and the last error', async () => {
    const failure = await failureOf(attempt(62, 9 * MINUTE + 40_000));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('KS_UNAVAILABLE');
    expect(failure.message).toBe(
      'gave up after 62 attempts in 9m40s (its retry time (10m) ran out); last error: KubeSphere answered HTTP 500 to POST /kapis/iam.kubesphere.io/v1beta1/users',
    );
  });

  it('says so when its attempts are used up', async () => {
    const failure = await failureOf(attempt(5, 20_000, { ...KUBE_RETRY, maximumAttempts: 5 }));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/^gave up after 5 attempts in 20s \(its 5 attempts are used up\); last error: /);
  });

  it('is passed on as it is under a one-attempt policy: the workflow retries it and shows its attempts', async () => {
    const failure = await failureOf(attempt(1, 9 * MINUTE + 59_000, { ...KUBE_RETRY, maximumAttempts: 1 }));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).not.toMatch(/gave up/);
  });
});

describe('a role KubeSphere has not created yet', () => {
  const { invite } = mapFailures({
    invite: async () => {
      throw ApplicationFailure.create({ type: 'RoleNotReady', message: 'role team-a-regular is not there (yet)' });
    },
  });
  const failed = (env: MockActivityEnvironment) =>
    env.run(invite).catch((e: unknown) => e as ApplicationFailure) as Promise<ApplicationFailure>;

  it('is waited for three minutes, then reported as such', async () => {
    expect((await failed(attempt(20, 2 * MINUTE))).nonRetryable).toBe(false);
    const failure = await failed(attempt(24, 2 * MINUTE + 40_000));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('RoleNotReady');
    expect(failure.message).toBe(
      'gave up after 24 attempts in 2m40s (its retry time (3m) ran out); last error: role team-a-regular is not there (yet)',
    );
  });

  it('while any other transient failure of the same step is retried for the whole ten minutes', async () => {
    expect((await failureOf(attempt(24, 2 * MINUTE + 40_000))).nonRetryable).toBe(false);
  });
});

describe('a failure that is never retried', () => {
  it('stays as it is on any attempt', async () => {
    const { refuse } = mapFailures({
      refuse: async () => {
        throw new KubeSphereError('KS_FORBIDDEN', 'KubeSphere refused: forbidden');
      },
    });
    const error = (await attempt(62, 9 * MINUTE + 40_000)
      .run(refuse)
      .catch((e: unknown) => e)) as ApplicationFailure;
    expect(error.nonRetryable).toBe(true);
    expect(error.message).toBe('KubeSphere refused: forbidden');
  });
});

describe('retry intervals', () => {
  it("follow the policy's backoff up to its maximum interval", () => {
    expect([1, 2, 3, 9, 30].map((n) => retryIntervalMs(KUBE_SCHEDULE, n))).toEqual([500, 750, 1125, 10_000, 10_000]);
  });

  it("kubeCall's policy is the one these tests assume", () => {
    expect(kubeCall.retry).toEqual(KUBE_RETRY);
    expect(kubeCall.scheduleToCloseTimeout).toBe(10 * MINUTE);
    expect(kubeCall.startToCloseTimeout).toBe(15_000);
  });

  it('durations read as an operator writes them', () => {
    expect([0, 42_000, 9 * MINUTE + 50_000, 65 * MINUTE].map(formatElapsed)).toEqual(['0s', '42s', '9m50s', '1h5m']);
  });
});
