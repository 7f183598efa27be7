import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { OnboardingState } from '../../src/workflows/definitions.js';
import { stateQuery } from '../../src/workflows/definitions.js';
import { ADMIN_PASSWORD, eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { startCli } from '../helpers/cli.js';
import { temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

let t: TemporalHarness;
beforeAll(async () => {
  t = await temporalHarness();
});
afterAll(async () => {
  await t.close();
});

const PEOPLE = [
  { username: 'ann', email: 'ann@example.com', workspace: 'squad-1', project: 'squad-1-dev' },
  { username: 'ben', email: 'ben@example.com', workspace: 'squad-1', project: 'squad-1-dev', projectRole: 'viewer' },
  { username: 'cat', email: 'cat@example.com', workspace: 'squad-2', project: 'squad-2-dev' },
];

/** What a person would check: who exists, with which email and roles; no ids, versions or times. */
function endState(h: EmulatorHarness) {
  const snap = h.emulator.snapshot();
  const sorted = <T>(items: T[]) => items.map((i) => JSON.stringify(i)).sort();
  return {
    users: sorted(
      Object.values(snap.users).map((u) => [
        u.metadata.name,
        u.spec.email,
        u.hasPassword,
        u.metadata.annotations?.['iam.kubesphere.io/globalrole'],
      ]),
    ),
    globalRoleBindings: sorted(Object.values(snap.globalRoleBindings).map((b) => [b.name, b.user, b.role])),
    workspaces: sorted(Object.values(snap.workspaces).map((w) => [w.metadata.name, w.spec.placement])),
    workspaceRoleBindings: sorted(Object.values(snap.workspaceRoleBindings).map((b) => [b.name, b.user, b.role])),
    namespaces: sorted(Object.values(snap.namespaces.host ?? {}).map((n) => [n.metadata.name, n.metadata.labels])),
    roleBindings: sorted(
      Object.entries(snap.roleBindings.host ?? {}).flatMap(([ns, bindings]) =>
        Object.values(bindings).map((b) => [ns, b.name, b.user, b.role]),
      ),
    ),
  };
}

/**
 * What each run reports for the objects it creates, in a stable order (which run creates a shared workspace
 * may vary). Memberships have no place for an annotation: after a lost answer they say `existed`.
 */
const outcomes = (states: OnboardingState[]) =>
  states
    .flatMap((s) => s.steps.filter((step) => !step.step.endsWith('member')))
    .map((step) => `${step.step} ${step.target} ${step.outcome}`)
    .sort();

async function onboardAll(h: EmulatorHarness) {
  const taskQueue = t.taskQueue();
  const worker = await t.worker(taskQueue, h.emulator.url);
  return worker.runUntil(async () => {
    const proposed = await Promise.all(
      PEOPLE.map((p) => t.propose(taskQueue, { ...p, sealedPassword: t.sealPassword('Passw0rd1') })),
    );
    return Promise.all(proposed.map(({ handle }) => handle.result()));
  });
}

describe('resilience', () => {
  it(
    'with 20% injected 5xx and 20% dropped write answers, the end state is exactly that of a clean run',
    { timeout: 240_000 },
    async () => {
      const clean = await startEmulator();
      const faulty = await startEmulator({ faults: { failRate: 0.2, dropResponseRate: 0.2, seed: 7 } });
      try {
        const cleanResults = await onboardAll(clean);
        const results = await onboardAll(faulty);
        expect(results.every((r) => r.lifecycle === 'done')).toBe(true);
        // An answer lost after a create, then "already exists" on the retry: still `created` when the read-back
        // shows this run's request annotation, so the reports match the clean run's step for step.
        expect(outcomes(results)).toEqual(outcomes(cleanResults));
        expect(faulty.emulator.snapshot().users.ann?.metadata.annotations?.['ks-onboard.io/request']).toMatch(
          /^test-[0-9a-f]+\.onboard-ann\/[0-9a-f-]+$/,
        );
        const failures = faulty.emulator.requests.total - clean.emulator.requests.total;
        expect(failures).toBeGreaterThan(0); // the faults really happened and were retried
        expect(endState(faulty)).toEqual(endState(clean));
        expect(faulty.emulator.requests.byMethod.DELETE ?? 0).toBe(0);
      } finally {
        await clean.close();
        await faulty.close();
      }
    },
  );

  it(
    'a worker process killed mid-workflow is replaced and the workflow finishes without duplicates',
    { timeout: 240_000 },
    async () => {
      // The workspace's roles appear 15 s after it is created: until then the workflow is certainly waiting
      // at its workspace-member step, whatever the machine's speed.
      const h = await startEmulator({ delays: { userActivationMs: 80, workspaceRolesMs: 15_000, projectRolesMs: 80 } });
      const taskQueue = t.taskQueue();
      const env = {
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_NAMESPACE: 'default',
        KS_ONBOARD_TASK_QUEUE: taskQueue,
        KS_ONBOARD_WORKFLOW_ID_PREFIX: t.prefixOf(taskQueue),
        KUBESPHERE_HOST: h.emulator.url,
        KUBESPHERE_USERNAME: 'admin',
        KUBESPHERE_PASSWORD: ADMIN_PASSWORD,
        KS_ONBOARD_SEAL_PRIVATE_KEYS: t.keys.private,
        KS_ONBOARD_SEAL_PUBLIC_KEY: t.keys.public,
        LOG_LEVEL: 'info',
      };
      const first = startCli(['worker'], env);
      try {
        await first.waitFor(/worker ready/, 60_000);
        t.useEmulator(taskQueue, h.emulator.url);
        const { handle } = await t.propose(taskQueue, { ...PEOPLE[0]!, sealedPassword: t.sealPassword('Passw0rd1') });
        // Kill it once the user, workspace and project exist and the memberships wait for their roles.
        const atKill = await eventually(async () => {
          const state = await handle.query(stateQuery);
          expect(state.steps[2]?.outcome).toBe('created');
          return state.steps.map((s) => s.outcome);
        }, 30_000);
        first.child.kill('SIGKILL');
        await first.exited;
        expect(atKill).toContain('pending'); // really mid-workflow

        const second = startCli(['worker'], env);
        try {
          await second.waitFor(/worker ready/, 60_000);
          const result: OnboardingState = await handle.result();
          expect(result.lifecycle).toBe('done');
          expect(result.steps.map((s) => s.outcome).every((o) => o === 'created' || o === 'existed')).toBe(true);
        } finally {
          second.child.kill('SIGTERM');
          expect(await second.exited).toBe(0); // graceful shutdown on SIGTERM
        }
        const state = endState(h);
        expect(state.users.filter((u) => u.includes('"ann"'))).toHaveLength(1);
        expect(state.workspaceRoleBindings.filter((b) => b.includes('"ann"'))).toEqual([
          JSON.stringify(['ann-squad-1-regular', 'ann', 'squad-1-regular']),
        ]);
        expect(state.roleBindings.filter((b) => b.includes('"ann"'))).toEqual([
          JSON.stringify(['squad-1-dev', 'ann-viewer', 'ann', 'viewer']),
        ]);
        expect(h.emulator.requests.byMethod.DELETE ?? 0).toBe(0);
      } finally {
        if (first.child.exitCode === null) first.child.kill('SIGKILL');
        await h.close();
      }
    },
  );
});
