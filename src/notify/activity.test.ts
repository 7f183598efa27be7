import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure, type Info } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { Webhook } from 'standardwebhooks';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createNotifyActivities, type NotifyResult } from './activity.js';
import type { NotifyConfig } from './config.js';
import { notificationSchema, NOTIFY_EVENT_TYPES, type NotifyInput } from './events.js';
import { NotifyFailureType } from './options.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const SEALED = `ks-sealed:v1:0123456789abcdef:${randomBytes(64).toString('base64url')}`;
const PASSWORD = 'Bob-P@88w0rd';
const PATH_TOKEN = 'T000/B000/XXXXtopsecretXXXX';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  verified: boolean;
}

/** A receiver as a chat bridge would run one: it verifies every delivery with the Standard Webhooks library. */
const received: Received[] = [];
let answer: (res: ServerResponse) => void = (res) => res.writeHead(204).end();
let server: Server;
let url: string;
const dispatcher = new Agent({ keepAliveTimeout: 1_000 });

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let verified = true;
      try {
        new Webhook(SECRET).verify(body, req.headers as Record<string, string>);
      } catch {
        verified = false;
      }
      received.push({ headers: req.headers, body, verified });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/${PATH_TOKEN}`;
});

afterEach(() => {
  received.length = 0;
  answer = (res) => res.writeHead(204).end();
});

afterAll(async () => {
  await dispatcher.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const config = (overrides: Partial<NotifyConfig> = {}): NotifyConfig => ({
  url,
  secret: SECRET,
  events: [...NOTIFY_EVENT_TYPES],
  expiryWarningMs: 12 * 3_600_000,
  ...overrides,
});

const logs: LogEntry[] = [];
function run(
  input: NotifyInput,
  options: { config?: NotifyConfig | undefined; info?: Partial<Info>; timeoutMs?: number } = {},
): Promise<NotifyResult> {
  const activities = createNotifyActivities('config' in options ? options.config : config(), {
    dispatcher,
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  const env = new MockActivityEnvironment(
    {
      workflowExecution: { workflowId: 'onboard-bob', runId: 'run-1' },
      activityId: '7',
      attempt: 1,
      scheduledTimestampMs: Date.parse('2026-03-02T10:00:00Z'),
      ...options.info,
    },
    { logger: new DefaultLogger('TRACE', (entry) => logs.push(entry)) },
  );
  return env.run(activities.notify, input);
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

/** A person's state as a workflow holds it, with what must never leave the worker. */
const awaiting = {
  type: 'approval.awaiting',
  lifecycle: 'awaiting-approval',
  username: 'bob',
  email: 'bob@example.com',
  sealedPassword: SEALED,
  password: PASSWORD,
  requestedBy: 'alice',
  approval: {
    grants: [{ scope: 'workspace', role: 'admin', target: 'team-b', workspace: 'team-b', why: 'elevated role' }],
    deadline: '2026-03-05T10:00:00.000Z',
  },
} as NotifyInput;
const failed: NotifyInput = {
  type: 'onboarding.failed',
  username: 'bob',
  error: { type: 'KS_UNAVAILABLE', message: 'x' },
};

describe('notify', () => {
  it('POSTs a signed Standard Webhooks delivery and answers sent on 2xx', async () => {
    const result = await run(awaiting);
    expect(result).toMatchObject({ sent: true, status: 204 });
    expect(received).toHaveLength(1);
    const [delivery] = received;
    expect(delivery!.verified).toBe(true);
    expect(delivery!.headers['content-type']).toBe('application/json');
    expect(delivery!.headers['webhook-id']).toBe((result as { webhookId: string }).webhookId);
    expect(delivery!.headers['webhook-id']).toMatch(/^msg_[A-Za-z0-9_-]{32}$/);
    expect(Math.abs(Number(delivery!.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    const body = notificationSchema.parse(JSON.parse(delivery!.body));
    expect(body).toMatchObject({
      type: 'approval.awaiting',
      timestamp: '2026-03-02T10:00:00.000Z',
      data: { workflowId: 'onboard-bob', runId: 'run-1', username: 'bob' },
    });
  });

  it('a wrong secret does not verify (the receiver really checks)', async () => {
    await run(failed);
    const [delivery] = received;
    expect(() =>
      new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(
        delivery!.body,
        delivery!.headers as Record<string, string>,
      ),
    ).toThrow();
  });

  it('never sends a password, a sealed value or an email, even when the state passed holds them', async () => {
    await run(awaiting);
    await run({
      ...awaiting,
      type: 'onboarding.failed',
      error: { type: 'ResourceMismatch', message: `email is "bob@old.example.com"; ${SEALED}` },
    } as NotifyInput);
    expect(received).toHaveLength(2);
    for (const { body } of received) {
      expect(body).not.toContain(PASSWORD);
      expect(body).not.toContain('ks-sealed');
      expect(body).not.toContain('example.com');
      expect(body).not.toMatch(/"(password|sealedPassword|email|token)"/);
    }
  });

  it('the same notice sent twice (a retry) carries the same webhook-id and body; another notice does not', async () => {
    const first = await run(failed);
    const retry = await run(failed, { info: { attempt: 2 } });
    const other = await run(failed, { info: { activityId: '8' } });
    const keyed = await run({ ...failed, key: 'failure' }, { info: { activityId: '9' } });
    const keyedAgain = await run({ ...failed, key: 'failure' }, { info: { activityId: '10' } });
    const otherRun = await run(
      { ...failed, key: 'failure' },
      { info: { workflowExecution: { workflowId: 'onboard-bob', runId: 'run-2' } } },
    );
    const ids = received.map((delivery) => delivery.headers['webhook-id']);
    expect(ids[0]).toBe(ids[1]);
    expect(received[0]!.body).toBe(received[1]!.body);
    expect(ids[2]).not.toBe(ids[0]);
    expect(ids[3]).toBe(ids[4]);
    expect(ids[3]).not.toBe(ids[0]);
    expect(ids[5]).not.toBe(ids[3]);
    expect(
      [first, retry, other, keyed, keyedAgain, otherRun].map((r) => (r as { webhookId: string }).webhookId),
    ).toEqual(ids);
  });

  it.each([500, 502, 503, 408])('HTTP %i is a retryable NotificationUnavailable', async (status) => {
    answer = (res) => res.writeHead(status).end('busy');
    const failure = await failureOf(run(failed));
    expect(failure.type).toBe(NotifyFailureType.Unavailable);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toContain(`HTTP ${status}`);
  });

  it("429 is retried after the receiver's Retry-After", async () => {
    answer = (res) => res.writeHead(429, { 'retry-after': '30' }).end();
    const failure = await failureOf(run(failed));
    expect(failure.type).toBe(NotifyFailureType.Unavailable);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.nextRetryDelay).toBe(30_000);
  });

  it.each([
    [400, /refused the notification with HTTP 400$/],
    [401, /HTTP 401: check that the receiver has the same KS_ONBOARD_NOTIFY_SECRET/],
    [404, /HTTP 404: check KS_ONBOARD_NOTIFY_URL/],
    [301, /HTTP 301: redirects are not followed/],
  ])(
    'HTTP %i is a non-retryable NotificationRefused naming the status, never the secret or the path',
    async (status, message) => {
      answer = (res) =>
        res.writeHead(status, status === 301 ? { location: 'https://elsewhere.example.com/' } : {}).end();
      const failure = await failureOf(run(failed));
      expect(failure.type).toBe(NotifyFailureType.Refused);
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toMatch(message);
      expect(failure.message).toContain(new URL(url).origin);
      expect(failure.message).not.toContain(PATH_TOKEN);
      expect(failure.message).not.toContain(SECRET.slice(6));
    },
  );

  it('a receiver that does not answer in time, or is not there, is retryable', async () => {
    answer = () => undefined;
    const slow = await failureOf(run(failed, { timeoutMs: 300 }));
    expect(slow).toMatchObject({ type: NotifyFailureType.Unavailable, nonRetryable: false });
    expect(slow.message).toMatch(/did not answer within 300 ms/);

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const down = await failureOf(run(failed, { config: config({ url: `http://127.0.0.1:${port}/hook` }) }));
    expect(down).toMatchObject({ type: NotifyFailureType.Unavailable, nonRetryable: false });
    expect(down.message).toMatch(/could not reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });

  it('sends nothing for an event type that is not enabled, or when notifications are off', async () => {
    const onlyFailures = config({ events: ['onboarding.failed'] });
    await expect(run(awaiting, { config: onlyFailures })).resolves.toEqual({
      sent: false,
      reason: 'event not enabled',
    });
    await expect(run(awaiting, { config: undefined })).resolves.toEqual({ sent: false, reason: 'notifications off' });
    expect(received).toHaveLength(0);
    await expect(run(failed, { config: onlyFailures })).resolves.toMatchObject({ sent: true });
    expect(received).toHaveLength(1);
  });

  it('refuses what is not an event, even with notifications off (a workflow bug shows in every test)', async () => {
    for (const options of [{}, { config: undefined }]) {
      const failure = await failureOf(
        run({ type: 'onboarding.failed', username: 'bob', password: PASSWORD } as unknown as NotifyInput, options),
      );
      expect(failure).toMatchObject({ type: NotifyFailureType.Invalid, nonRetryable: true });
      expect(failure.message).toMatch(/^not a notification: error: /);
      expect(failure.message).not.toContain(PASSWORD);
    }
    expect(received).toHaveLength(0);
  });

  it('logs the event, the id and the receiver, never the secret, the signature or the URL path', async () => {
    logs.length = 0;
    await run(failed);
    answer = (res) => res.writeHead(500).end();
    await failureOf(run(failed));
    const signature = received[0]!.headers['webhook-signature'] as string;
    const text = JSON.stringify(logs.map(({ message, meta }) => ({ message, meta })));
    expect(text).toContain('notification sent');
    expect(text).toContain('notification not delivered');
    expect(text).toContain(received[0]!.headers['webhook-id'] as string);
    expect(text).not.toContain(SECRET.slice(6));
    expect(text).not.toContain(signature.slice(3));
    expect(text).not.toContain(PATH_TOKEN);
  });
});
