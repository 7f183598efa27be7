import { describe, expect, it } from 'vitest';
import {
  approvalDataSchema,
  batchDataSchema,
  buildNotification,
  failedDataSchema,
  notificationSchema,
  notifyInputSchema,
  redact,
  runLink,
  type EventOrigin,
  type NotifyInput,
} from './events.js';
import { expiryNoticeDelayMs } from './options.js';

const SEALED = 'ks-sealed:v1:0123456789abcdef:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=';
const at: EventOrigin = {
  workflowId: 'onboard-bob',
  runId: 'run-1',
  namespace: 'default',
  occurredAt: new Date('2026-03-02T10:00:00.000Z'),
};

/** An OnboardingState as a workflow holds it, with everything that must never leave. */
const state = {
  lifecycle: 'awaiting-approval',
  username: 'bob',
  email: 'bob@example.com',
  sealedPassword: SEALED,
  password: 'Bob-P@88w0rd',
  token: 'eyJhbGciOiJIUzI1NiJ9.e30.sig',
  requestedBy: 'alice',
  steps: [{ step: 'user', target: 'bob', outcome: 'pending' }],
  approval: {
    grants: [{ scope: 'workspace', role: 'admin', target: 'team-b', workspace: 'team-b', why: 'elevated role' }],
    deadline: '2026-03-05T10:00:00.000Z',
    proof: SEALED,
  },
};

const build = (input: NotifyInput, origin: EventOrigin = at) =>
  buildNotification(notifyInputSchema.parse(input), origin);

describe('notification bodies', () => {
  it('approval.awaiting: who, what, until when, how to decide; nothing else from the state', () => {
    const body = build({ type: 'approval.awaiting', ...state });
    expect(body).toEqual({
      type: 'approval.awaiting',
      timestamp: '2026-03-02T10:00:00.000Z',
      data: {
        workflowId: 'onboard-bob',
        runId: 'run-1',
        namespace: 'default',
        username: 'bob',
        lifecycle: 'awaiting-approval',
        requestedBy: 'alice',
        grants: [{ scope: 'workspace', role: 'admin', target: 'team-b', workspace: 'team-b', why: 'elevated role' }],
        deadline: '2026-03-05T10:00:00.000Z',
        approveCommand: 'ks-onboard approve onboard-bob --reason "…"',
        rejectCommand: 'ks-onboard reject onboard-bob --reason "…"',
      },
    });
    const text = JSON.stringify(body);
    for (const secret of ['bob@example.com', 'ks-sealed', 'P@88w0rd', 'eyJhbGci', 'steps', 'proof'])
      expect(text).not.toContain(secret);
  });

  it('approval.expiring has the same data; a deadline with an offset is sent in UTC', () => {
    const body = build({
      type: 'approval.expiring',
      ...state,
      approval: { ...state.approval, deadline: '2026-03-05T11:00:00+01:00' },
    });
    expect(approvalDataSchema.parse(body.data).deadline).toBe('2026-03-05T10:00:00.000Z');
    expect(body.type).toBe('approval.expiring');
  });

  it('onboarding.failed: the error type and its message, emails and sealed values replaced', () => {
    const body = build({
      type: 'onboarding.failed',
      ...state,
      lifecycle: 'failed',
      error: {
        type: 'ResourceMismatch',
        message: `user bob already exists but differs: email is "bob@old.example.com", requested "bob@example.com"; ${SEALED}`,
      },
    });
    expect(failedDataSchema.parse(body.data)).toMatchObject({
      username: 'bob',
      lifecycle: 'failed',
      error: {
        type: 'ResourceMismatch',
        message: 'user bob already exists but differs: email is "<email>", requested "<email>"; <sealed>',
      },
    });
    expect(JSON.stringify(body)).not.toMatch(/example\.com|ks-sealed|approval/);
  });

  it('onboarding.failed without a username (a delivery that named no one readable)', () => {
    const body = build({ type: 'onboarding.failed', error: { type: 'DeliveryRefused', message: 'bad signature' } });
    expect(body.data).not.toHaveProperty('username');
    expect(body.data).toMatchObject({ lifecycle: 'failed' });
  });

  it('batch.paused and batch.finished: counts from a BatchProgress passed whole, never its rows', () => {
    const progress = {
      batchId: 'team-2026',
      lifecycle: 'paused',
      reason: 'error budget spent: 6 of 20 finished rows failed (first: carol@example.com)',
      requestedBy: 'alice',
      people: 40,
      rows: 42,
      part: 1,
      parts: 1,
      concurrency: 20,
      started: 20,
      running: 0,
      awaitingApproval: 1,
      done: 13,
      failed: 6,
      notStarted: 0,
      skipped: 2,
      firstFailures: [{ username: 'carol', lines: [3], type: 'X', message: 'carol@example.com' }],
      run: 1,
    };
    const paused = build({ type: 'batch.paused', ...progress }, { ...at, workflowId: 'import-team-2026' });
    expect(batchDataSchema.parse(paused.data)).toEqual({
      workflowId: 'import-team-2026',
      runId: 'run-1',
      namespace: 'default',
      batchId: 'team-2026',
      lifecycle: 'paused',
      reason: 'error budget spent: 6 of 20 finished rows failed (first: <email>)',
      counts: {
        people: 40,
        rows: 42,
        started: 20,
        running: 0,
        awaitingApproval: 1,
        done: 13,
        failed: 6,
        notStarted: 0,
        skipped: 2,
      },
    });
    expect(JSON.stringify(paused)).not.toMatch(/firstFailures|carol/);
    const finished = build({ type: 'batch.finished', batchId: 'b', lifecycle: 'done', done: 3 });
    expect(finished.data).toMatchObject({ counts: { done: 3, failed: 0, people: 0 } });
    expect(finished.data).not.toHaveProperty('reason');
  });

  it('links to the run in the Web UI when the worker knows its address', () => {
    const body = build(
      { type: 'onboarding.failed', username: 'bob', error: { type: 'X', message: 'y' } },
      { ...at, workflowId: 'ops/onboard-bob', webUiUrl: 'https://temporal.example.com/' },
    );
    expect(body.data.webUi).toBe(
      'https://temporal.example.com/namespaces/default/workflows/ops%2Fonboard-bob/run-1/history',
    );
    expect(runLink('http://localhost:8233', 'my ns', 'a', 'b')).toBe(
      'http://localhost:8233/namespaces/my%20ns/workflows/a/b/history',
    );
  });

  it('quotes a workflow id a shell would read in the commands', () => {
    const body = build({ type: 'approval.awaiting', ...state }, { ...at, workflowId: "x'; rm -rf ~" });
    expect(approvalDataSchema.parse(body.data).approveCommand).toBe(
      `ks-onboard approve 'x'\\''; rm -rf ~' --reason "…"`,
    );
  });

  it('every body passes the strict envelope schema', () => {
    const body = build({ type: 'approval.awaiting', ...state });
    expect(() => notificationSchema.parse(body)).not.toThrow();
    expect(() => notificationSchema.parse({ ...body, data: { ...body.data, email: 'x' } })).toThrow();
  });
});

describe('notify inputs', () => {
  it.each([
    ['an unknown type', { type: 'approval.pending', username: 'bob' }],
    [
      'an approval without grants',
      { type: 'approval.awaiting', username: 'bob', approval: { grants: [], deadline: '2026-03-05T10:00:00Z' } },
    ],
    [
      'an approval with a bad deadline',
      { ...state, type: 'approval.awaiting', approval: { ...state.approval, deadline: 'Friday' } },
    ],
    ['a failure without an error', { type: 'onboarding.failed', username: 'bob' }],
    ['a batch without its id', { type: 'batch.finished', lifecycle: 'done' }],
    ['a key with spaces', { type: 'batch.finished', batchId: 'b', lifecycle: 'done', key: 'a b' }],
  ])('refuses %s', (_what, input) => expect(notifyInputSchema.safeParse(input).success).toBe(false));

  it('cuts long text instead of refusing it (a notice is not lost to a long message)', () => {
    const parsed = notifyInputSchema.parse({
      type: 'onboarding.failed',
      error: { type: 'X', message: 'x'.repeat(5000) },
    });
    expect(parsed.type === 'onboarding.failed' && parsed.error.message.length).toBe(1000);
    expect(redact('a'.repeat(20), 10)).toBe(`${'a'.repeat(9)}…`);
  });
});

describe('expiryNoticeDelayMs', () => {
  const now = Date.parse('2026-03-02T10:00:00Z');
  it('waits until the warning before the deadline', () =>
    expect(expiryNoticeDelayMs('2026-03-05T10:00:00Z', now, 12 * 3_600_000)).toBe(60 * 3_600_000));
  it('sends none when the whole wait is shorter than the warning', () => {
    expect(expiryNoticeDelayMs('2026-03-02T16:00:00Z', now, 12 * 3_600_000)).toBeUndefined();
    expect(expiryNoticeDelayMs('not a date', now, 1)).toBeUndefined();
  });
});
