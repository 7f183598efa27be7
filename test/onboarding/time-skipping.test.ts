import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevKeyPair, readPem, Unsealer } from '../../src/codec/seal.js';
import { KubeSphereClient } from '../../src/kubesphere/client.js';
import { loginOnce } from '../../src/kubesphere/login.js';
import { decisionInput, onboardingInput, proposeOnboarding } from '../../src/temporal/start.js';
import { decideUpdate, SA, type OnboardingState } from '../../src/workflows/definitions.js';
import { ADMIN_PASSWORD, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { failureOf, OPS, TEST_POLICY } from '../helpers/temporal.js';
import { saveHistory } from '../helpers/histories.js';
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

/** Requests that change something in KubeSphere (logins are not changes). */
function writes(): Record<string, number> {
  return Object.fromEntries(
    Object.entries(h.emulator.requests.byRoute).filter(
      ([route]) => !route.startsWith('GET ') && route !== 'POST /oauth/token',
    ),
  );
}

describe('time skipping', () => {
  it('an approval nobody gives times out after 72 h of server time, in seconds, and nothing is written', async () => {
    const taskQueue = ts.taskQueue();
    const worker = await ts.worker({
      taskQueue,
      activities: { client: ks, unsealer: new Unsealer([readPem(keys.private)]), creator: 'admin' },
      policy: { ...TEST_POLICY, approvalTimeoutMs: 72 * HOUR },
    });
    const requester = {
      token: (await loginOnce({ baseUrl: h.emulator.url, ...OPS })).accessToken,
      publicKey: readPem(keys.public),
    };
    const workflowId = 'onboard-tim';
    const input = onboardingInput(
      { username: 'tim', email: 'tim@example.com', globalRole: 'platform-admin' },
      requester,
      workflowId,
    );

    await worker.runUntil(async () => {
      const serverStart = await ts.env.currentTimeMs();
      const { handle, answer } = await proposeOnboarding(ts.client, taskQueue, input, workflowId);
      expect(answer.lifecycle).toBe('awaiting-approval');
      expect(Date.parse(answer.deadline!) - serverStart).toBeGreaterThanOrEqual(72 * HOUR - 60_000);

      // Awaiting the result lets the server skip to the approval's deadline.
      const failure = await failureOf(handle);
      expect(failure.type).toBe('ApprovalTimedOut');
      expect(await ts.env.currentTimeMs()).toBeGreaterThanOrEqual(Date.parse(answer.deadline!));
      const [state] = failure.details as [OnboardingState];
      expect(state.approval).toMatchObject({ expired: true });
      expect(state.approval?.decision).toBeUndefined();
      // Upserted search attributes are kept (registered by the helper), though nothing can list by them.
      expect((await handle.describe()).typedSearchAttributes.get(SA.state)).toBe('failed');
      // the replay corpus keeps this run too (test/onboarding/replay.test.ts)
      if (process.env.RECORD_HISTORIES === '1') await saveHistory('onboard-approval-timed-out', handle);
    });
    expect(writes()).toEqual({});
  });
});

describe('an approval given days later', () => {
  it('still covers the work done right after it', async () => {
    const boss = { username: 'ts-boss', password: 'B0ss-P@ssw0rd' };
    await h.person(boss, 'platform-admin');
    const taskQueue = ts.taskQueue();
    const worker = await ts.worker({
      taskQueue,
      activities: { client: ks, unsealer: new Unsealer([readPem(keys.private)]), creator: 'admin' },
      policy: { ...TEST_POLICY, approvalTimeoutMs: 72 * HOUR },
    });
    const publicKey = readPem(keys.public);
    const requester = { token: (await loginOnce({ baseUrl: h.emulator.url, ...OPS })).accessToken, publicKey };
    const workflowId = 'onboard-tam';
    const input = onboardingInput(
      { username: 'tam', email: 'tam@example.com', workspace: 'ts-team', workspaceRole: 'admin' },
      requester,
      workflowId,
    );
    const state = await worker.runUntil(async () => {
      const { handle, answer } = await proposeOnboarding(ts.client, taskQueue, input, workflowId);
      expect(answer.lifecycle).toBe('awaiting-approval');
      await ts.env.sleep('48h');
      const { runId } = await handle.describe();
      const approver = { token: (await loginOnce({ baseUrl: h.emulator.url, ...boss })).accessToken, publicKey };
      const decision = decisionInput(
        { workflowId, runId, grants: answer.approvals },
        approver,
        true,
        'back from leave',
      );
      await ts.client.workflow.getHandle(workflowId, runId).executeUpdate(decideUpdate, { args: [decision] });
      return handle.result();
    });
    expect(state.lifecycle).toBe('done');
    expect(state.approval?.decision?.by).toBe('ts-boss');
    expect(h.emulator.snapshot().workspaceRoleBindings['tam-ts-team-admin']).toBeDefined();
  });
});
