import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/events.js';
import type { AuditSink } from '../../src/audit/sink.js';
import { ensureDevKeyPair, readPem, Unsealer } from '../../src/codec/seal.js';
import { KubeSphereClient } from '../../src/kubesphere/client.js';
import { loginOnce } from '../../src/kubesphere/login.js';
import { createWorkerMetrics } from '../../src/metrics/worker-metrics.js';
import { onboardingInput, proposeOnboarding } from '../../src/temporal/start.js';
import { ADMIN_PASSWORD, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { failureOf, OPS, TEST_POLICY } from '../helpers/temporal.js';
import { timeSkippingEnvironment, type TimeSkippingHarness } from '../helpers/time-skipping.js';

const HOUR = 3_600_000;
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

describe('an approval nobody gives', () => {
  it('is recorded as expired (nobody decided) after the whole wait, then the request as failed', async () => {
    const events: AuditEvent[] = [];
    const sink: AuditSink = { description: 'memory', write: async (e) => void events.push(e), close: async () => {} };
    const metrics = createWorkerMetrics({ processMetrics: false });
    const taskQueue = ts.taskQueue();
    const worker = await ts.worker({
      taskQueue,
      activities: { client: ks, unsealer: new Unsealer([readPem(keys.private)]), creator: 'admin' },
      policy: { ...TEST_POLICY, approvalTimeoutMs: 72 * HOUR },
      audit: sink,
      metrics,
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
    await worker.runUntil(async () => {
      const { handle } = await proposeOnboarding(ts.client, taskQueue, input, workflowId);
      expect((await failureOf(handle)).type).toBe('ApprovalTimedOut');
    });
    expect(events.map((e) => [e.type, e.who, e.error?.type])).toEqual([
      ['request.accepted', OPS.username, undefined],
      ['approval.expired', null, undefined],
      ['request.failed', OPS.username, 'ApprovalTimedOut'],
    ]);
    expect(events[1]!.approval).toMatchObject({
      grants: [{ scope: 'platform', role: 'platform-admin', approval: 'elevated role' }],
      waitedSeconds: 72 * 3600,
    });
    const text = await metrics.registry.metrics();
    expect(text).toContain('ks_onboard_approvals_total{decision="expired"} 1');
    expect(text).toContain('ks_onboard_approval_wait_seconds_bucket{le="259200",decision="expired"} 1');
  });
});
