import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevKeyPair, readPem, Unsealer } from '../../src/codec/seal.js';
import { KubeSphereClient } from '../../src/kubesphere/client.js';
import { loginOnce } from '../../src/kubesphere/login.js';
import { NOTIFY_EVENT_TYPES } from '../../src/notify/events.js';
import type { NotifyConfig } from '../../src/notify/config.js';
import type { BatchPerson } from '../../src/policy/batch.js';
import { onboardingInput, proposeOnboarding } from '../../src/temporal/start.js';
import { progressQuery, resumeUpdate } from '../../src/workflows/batch-definitions.js';
import { ADMIN_PASSWORD, eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { failureOf, OPS, TEST_POLICY, temporalHarness, type TemporalHarness } from '../helpers/temporal.js';
import { timeSkippingEnvironment, type TimeSkippingHarness } from '../helpers/time-skipping.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

const HOUR = 3_600_000;
const secret = `whsec_${randomBytes(32).toString('base64')}`;
const notifyTo = (url: string, warning = 12 * HOUR): NotifyConfig => ({
  url,
  secret,
  events: [...NOTIFY_EVENT_TYPES],
  expiryWarningMs: warning,
});

let h: EmulatorHarness;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
  [h, receiver] = await Promise.all([startEmulator(), startReceiver(secret)]);
});
afterAll(async () => {
  await receiver?.close();
  await h?.close();
});

describe('notifications, on the dev server', () => {
  let t: TemporalHarness;
  beforeAll(async () => {
    t = await temporalHarness();
  });
  afterAll(async () => t?.close());

  it('a grant awaiting approval and a failed onboarding reach the receiver, signed, without emails or passwords', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url, {}, undefined, { notify: notifyTo(receiver.url) });
    await worker.runUntil(async () => {
      const { handle: waiting } = await t.propose(taskQueue, {
        username: 'nora',
        email: 'nora@example.com',
        sealedPassword: t.sealPassword('N0ra-Secret-P@ss'),
        workspace: 'notify-ws',
        workspaceRole: 'admin',
      });
      const [awaiting] = await eventually(async () => {
        const found = receiver.of('approval.awaiting', waiting.workflowId);
        if (!found.length) throw new Error('no approval.awaiting yet');
        return found;
      }, 20_000);
      expect(awaiting!.data).toMatchObject({
        workflowId: waiting.workflowId,
        username: 'nora',
        requestedBy: OPS.username,
        grants: [{ scope: 'workspace', role: 'admin', target: 'notify-ws' }],
        approveCommand: `ks-onboard approve ${waiting.workflowId} --reason "…"`,
      });
      expect(Date.parse(String(awaiting!.data.deadline))).toBeGreaterThan(Date.now());
      expect(awaiting!.raw).not.toContain('nora@example.com');
      expect(awaiting!.raw).not.toContain('N0ra-Secret-P@ss');
      expect(awaiting!.raw).not.toContain('ks-sealed');

      // The same person asked for with another email: the user step finds a mismatch, and says it to the receiver.
      const first = await t.propose(taskQueue, { username: 'nils', email: 'nils@example.com' });
      await first.handle.result();
      const second = await t.propose(taskQueue, { username: 'nils', email: 'nils.other@example.com' });
      expect((await failureOf(second.handle)).type).toBe('ResourceMismatch');
      // Delivered by a child the request let go as it closed.
      const [failed] = await eventually(async () => {
        const found = receiver.of('onboarding.failed', second.handle.workflowId);
        if (!found.length) throw new Error('not delivered yet');
        return found;
      }, 20_000);
      expect(failed!.data).toMatchObject({
        username: 'nils',
        lifecycle: 'failed',
        error: { type: 'ResourceMismatch', message: expect.stringContaining('<email>') },
      });
      expect(failed!.raw).not.toMatch(/nils(\.other)?@example\.com/);
      // One notice per event, however often the receiver was asked (a retried send carries the same id).
      expect(new Set(receiver.received.map((r) => r.id)).size).toBe(receiver.received.length);
      expect(receiver.refused).toEqual([]);
    });
  });

  it('a receiver that is down never holds a failed request open: the notice comes once it is back', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url, {}, undefined, { notify: notifyTo(receiver.url) });
    await worker.runUntil(async () => {
      const first = await t.propose(taskQueue, { username: 'dora', email: 'dora@example.com' });
      await first.handle.result();
      receiver.setDown(true);
      try {
        const second = await t.propose(taskQueue, { username: 'dora', email: 'dora.other@example.com' });
        // The request fails and closes at once, though its notice cannot be delivered yet.
        expect((await failureOf(second.handle)).type).toBe('ResourceMismatch');
        expect((await second.handle.describe()).status.name).toBe('FAILED');
        await eventually(async () => {
          if (receiver.unavailableAnswers() === 0) throw new Error('not tried yet');
        }, 20_000);
        expect(receiver.of('onboarding.failed', second.handle.workflowId)).toEqual([]);
        receiver.setDown(false);
        const [failed] = await eventually(async () => {
          const found = receiver.of('onboarding.failed', second.handle.workflowId);
          if (!found.length) throw new Error('not delivered yet');
          return found;
        }, 30_000);
        // It names the request, not the child that delivered it.
        expect(failed!.data).toMatchObject({
          workflowId: second.handle.workflowId,
          runId: (await second.handle.describe()).runId,
          username: 'dora',
        });
      } finally {
        receiver.setDown(false);
      }
    });
  });

  it('a batch tells the receiver when it pauses and when it finishes, with its counts', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url, {}, undefined, { notify: notifyTo(receiver.url) });
    const people: BatchPerson[] = [0, 1, 2].map((i) => ({
      username: `nb${i}`,
      email: `nb${i}@example.com`,
      placements: [{ workspace: 'notify-batch', project: 'notify-batch-p', line: i + 2 }],
      lines: [i + 2],
    }));
    const [finished] = await worker.runUntil(async () => {
      const { handle } = await t.startImport(
        taskQueue,
        { batchId: 'notify', contentDigest: 'digest-of-notify', rows: 3, canary: 1 },
        people,
      );
      await eventually(async () => {
        const p = await handle.query(progressQuery);
        if (p.lifecycle !== 'paused' || p.done !== 1) throw new Error(JSON.stringify(p));
      }, 30_000);
      const [paused] = await eventually(async () => {
        const found = receiver.of('batch.paused', handle.workflowId);
        if (!found.length) throw new Error('no batch.paused yet');
        return found;
      }, 20_000);
      expect(paused!.data).toMatchObject({
        batchId: 'notify',
        lifecycle: 'paused',
        reason: expect.stringMatching(/^canary: the first 1 rows/),
        counts: { people: 3, started: 1 },
      });
      await handle.executeUpdate(resumeUpdate);
      await handle.result();
      // Sent by a workflow of its own the batch starts as it closes: the worker must still run for it.
      return eventually(async () => {
        const found = receiver.of('batch.finished');
        if (!found.length) throw new Error('not delivered yet');
        return found;
      }, 20_000);
    });
    expect(finished!.data).toMatchObject({ batchId: 'notify', lifecycle: 'done', counts: { done: 3, failed: 0 } });
    // Rows are told of by their batch: no per-row notice.
    expect(receiver.received.filter((r) => String(r.data.username ?? '').startsWith('nb'))).toEqual([]);
  });

  it('with notifications off, a run schedules no notice at all', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    await worker.runUntil(async () => {
      const { handle } = await t.propose(taskQueue, {
        username: 'quiet',
        email: 'quiet@example.com',
        workspace: 'quiet-ws',
      });
      await handle.result();
      const history = await handle.fetchHistory();
      const activities = (history.events ?? []).flatMap((e) =>
        e.activityTaskScheduledEventAttributes?.activityType?.name
          ? [e.activityTaskScheduledEventAttributes.activityType.name]
          : [],
      );
      expect(activities.length).toBeGreaterThan(0);
      expect(activities).not.toContain('notify');
    });
  });
});

describe('notifications, on the time-skipping server', () => {
  let ts: TimeSkippingHarness;
  beforeAll(async () => {
    ts = await timeSkippingEnvironment();
  });
  afterAll(async () => ts?.close());

  it('an approval nobody gives: awaiting, then expiring 12 h before its 72 h deadline, then the failure', async () => {
    const keyDir = mkdtempSync(join(tmpdir(), 'ks-keys-'));
    const keys = { private: join(keyDir, 'private.pem'), public: join(keyDir, 'public.pem') };
    ensureDevKeyPair(keys.private, keys.public);
    const ks = new KubeSphereClient({
      baseUrl: h.emulator.url,
      credentials: { username: 'admin', password: ADMIN_PASSWORD },
    });
    const taskQueue = ts.taskQueue();
    const worker = await ts.worker({
      taskQueue,
      activities: { client: ks, unsealer: new Unsealer([readPem(keys.private)]), creator: 'admin' },
      policy: { ...TEST_POLICY, approvalTimeoutMs: 72 * HOUR },
      notify: notifyTo(receiver.url),
    });
    const requester = {
      token: (await loginOnce({ baseUrl: h.emulator.url, ...OPS })).accessToken,
      publicKey: readPem(keys.public),
    };
    const workflowId = 'onboard-exp';
    const input = onboardingInput(
      { username: 'exp', email: 'exp@example.com', globalRole: 'platform-admin' },
      requester,
      workflowId,
    );
    try {
      await worker.runUntil(async () => {
        const { handle, answer } = await proposeOnboarding(ts.client, taskQueue, input, workflowId);
        expect((await failureOf(handle)).type).toBe('ApprovalTimedOut');
        const types = await eventually(async () => {
          const found = receiver.received.filter((r) => r.data.workflowId === workflowId).map((r) => r.type);
          if (found.length < 3) throw new Error(found.join());
          return found;
        }, 20_000);
        expect(types).toEqual(['approval.awaiting', 'approval.expiring', 'onboarding.failed']);
        const [expiring] = receiver.of('approval.expiring', workflowId);
        expect(expiring!.data.deadline).toBe(answer.deadline);
        // Sent (its timestamp is when it was scheduled, on the server's clock) 12 h before the deadline.
        const sentAt = Date.parse((JSON.parse(expiring!.raw) as { timestamp: string }).timestamp);
        expect(Date.parse(answer.deadline!) - sentAt).toBeGreaterThan(12 * HOUR - 60_000);
        expect(Date.parse(answer.deadline!) - sentAt).toBeLessThanOrEqual(12 * HOUR);
      });
    } finally {
      await ks.close();
    }
  });
});
