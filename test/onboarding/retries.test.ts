import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevKeyPair, readPem, Unsealer } from '../../src/codec/seal.js';
import { KubeSphereClient } from '../../src/kubesphere/client.js';
import { loginOnce } from '../../src/kubesphere/login.js';
import { onboardingInput, proposeOnboarding } from '../../src/temporal/start.js';
import { stateQuery, type OnboardingState } from '../../src/workflows/definitions.js';
import { ADMIN_PASSWORD, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { failureOf, OPS, TEST_POLICY } from '../helpers/temporal.js';
import { timeSkippingEnvironment, type TimeSkippingHarness } from '../helpers/time-skipping.js';

/**
 * A step that keeps failing: while it retries, its attempts and last error can be seen; when its retry time runs
 * out, its failure says so. On the time-skipping server, so ten minutes of retries take seconds.
 */
const CREATE_USER = 'POST /kapis/iam.kubesphere.io/v1beta1/users';
const CREATE_WORKSPACE = 'POST /kapis/tenant.kubesphere.io/v1beta1/workspacetemplates';
const GAVE_UP = /^gave up after (\d+) attempts in 9m\d+s \(its retry time \(10m\) ran out\); last error: .*500/;

let ts: TimeSkippingHarness;
let h: EmulatorHarness;
let ks: KubeSphereClient;
const keyDir = mkdtempSync(join(tmpdir(), 'ks-keys-'));
const keys = { private: join(keyDir, 'private.pem'), public: join(keyDir, 'public.pem') };

beforeAll(async () => {
  ensureDevKeyPair(keys.private, keys.public);
  [ts, h] = await Promise.all([timeSkippingEnvironment(), startEmulator()]);
  ks = new KubeSphereClient({ baseUrl: h.emulator.url, credentials: { username: 'admin', password: ADMIN_PASSWORD } });
});
afterAll(async () => {
  await ks?.close();
  await h?.close();
  await ts?.close();
});

async function onboardWhileFailing(username: string, route: string, request: Record<string, string> = {}) {
  const taskQueue = ts.taskQueue();
  const worker = await ts.worker({
    taskQueue,
    activities: { client: ks, unsealer: new Unsealer([readPem(keys.private)]), creator: 'admin' },
    policy: TEST_POLICY,
  });
  const requester = {
    token: (await loginOnce({ baseUrl: h.emulator.url, ...OPS })).accessToken,
    publicKey: readPem(keys.public),
  };
  const workflowId = `onboard-${username}`;
  const input = onboardingInput({ username, email: `${username}@example.com`, ...request }, requester, workflowId);
  h.emulator.faults.set({ failingRoutes: [route] });
  return { worker, start: () => proposeOnboarding(ts.client, taskQueue, input, workflowId) };
}

describe('a step KubeSphere keeps failing', () => {
  it('the user step (retried by the workflow) shows attempts, last error, next try and give-up time, then gives up saying so', async () => {
    const { worker, start } = await onboardWhileFailing('rita', CREATE_USER);
    try {
      await worker.runUntil(async () => {
        const { handle } = await start();
        const startedAt = await ts.env.currentTimeMs();
        // Not awaiting the result: the server's clock runs at real speed, and the first retries show.
        let state: OnboardingState | undefined;
        for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
          state = await handle.query(stateQuery);
          if ((state.steps[0]?.retry?.attempts ?? 0) >= 2) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const retry = state?.steps[0]?.retry;
        expect(state?.steps[0]).toMatchObject({ step: 'user', outcome: 'pending' });
        expect(retry?.attempts).toBeGreaterThanOrEqual(2);
        expect(retry?.lastError).toMatch(/^KS_UNAVAILABLE: .*500/);
        expect(Date.parse(retry!.nextAttemptAt!)).toBeGreaterThan(startedAt);
        expect(Date.parse(retry!.givesUpAt) - startedAt).toBeGreaterThan(9.9 * 60_000);
        expect(Date.parse(retry!.givesUpAt) - startedAt).toBeLessThanOrEqual(10 * 60_000 + 5_000);
        // The Web UI's "current details" say it too.
        const { currentDetails } = (await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
        expect(currentDetails).toMatch(
          /^running step 1 of 5: ensure user rita \(platform-regular\); attempt \d+ failed \(KS_UNAVAILABLE: .*\); next try at \S+, gives up at \S+$/,
        );

        const failure = await failureOf(handle);
        expect(failure.type).toBe('KS_UNAVAILABLE');
        expect(failure.message).toMatch(/^onboarding of rita failed at step user \(rita\): gave up after \d+ attempts/);
        const [final] = failure.details as [OnboardingState];
        expect(final.steps[0]).toMatchObject({ step: 'user', outcome: 'failed' });
        expect(final.steps[0]!.error?.message).toMatch(GAVE_UP);
        // Every attempt reached KubeSphere, on kubeCall's backoff: about sixty in ten minutes.
        const attempts = Number(GAVE_UP.exec(final.steps[0]!.error!.message)![1]);
        expect(attempts).toBeGreaterThan(40);
        expect(h.emulator.requests.byRoute[CREATE_USER]).toBe(attempts);
      });
    } finally {
      h.emulator.faults.set({ failingRoutes: [] });
    }
  });

  it('a step Temporal retries gives up with the same words: attempts, retry time, last error', async () => {
    const before = h.emulator.requests.byRoute[CREATE_WORKSPACE] ?? 0;
    const { worker, start } = await onboardWhileFailing('wanda', CREATE_WORKSPACE, { workspace: 'retry-ws' });
    try {
      await worker.runUntil(async () => {
        const { handle } = await start();
        const failure = await failureOf(handle);
        expect(failure.type).toBe('KS_UNAVAILABLE');
        const [final] = failure.details as [OnboardingState];
        const step = final.steps.find((s) => s.step === 'workspace')!;
        expect(step.outcome).toBe('failed');
        expect(step.error?.message).toMatch(GAVE_UP);
        const attempts = Number(GAVE_UP.exec(step.error!.message)![1]);
        expect(h.emulator.requests.byRoute[CREATE_WORKSPACE]! - before).toBe(attempts);
      });
    } finally {
      h.emulator.faults.set({ failingRoutes: [] });
    }
  });
});
