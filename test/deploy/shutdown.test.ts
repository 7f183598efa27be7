import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stateQuery, type OnboardingState } from '../../src/workflows/definitions.js';
import type { OnboardRequest } from '../../src/policy/plan.js';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { ADMIN_PASSWORD, eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

/**
 * The worker's graceful shutdown, as Kubernetes does it (SIGTERM, then KS_ONBOARD_SHUTDOWN_GRACE before SIGKILL): the
 * attempts in flight finish, or are cancelled and handed back to the server, within the grace period; the process
 * exits 0; a worker started afterwards completes every onboarding; KubeSphere ends exactly as after an undisturbed
 * run: nothing missing, nothing twice.
 */

let t: TemporalHarness;
beforeAll(async () => {
  t = await temporalHarness();
});
afterAll(async () => {
  await t.close();
});

const PEOPLE: OnboardRequest[] = [
  { username: 'sd-ann', email: 'sd-ann@example.com', workspace: 'sd-one', project: 'sd-one-dev' },
  { username: 'sd-ben', email: 'sd-ben@example.com', workspace: 'sd-one', project: 'sd-one-dev' },
  { username: 'sd-cat', email: 'sd-cat@example.com', workspace: 'sd-two', project: 'sd-two-dev' },
  { username: 'sd-dan', email: 'sd-dan@example.com', workspace: 'sd-two' },
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

/** The end state of the same onboardings on an undisturbed worker: what the disturbed run must reach. */
async function referenceState() {
  const h = await startEmulator();
  try {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    await worker.runUntil(async () => {
      const proposed = await Promise.all(
        PEOPLE.map((p) => t.propose(taskQueue, { ...p, sealedPassword: t.sealPassword('Passw0rd1') })),
      );
      for (const { handle } of proposed) expect((await handle.result()).lifecycle).toBe('done');
    });
    return endState(h);
  } finally {
    await h.close();
  }
}

function workerEnv(h: EmulatorHarness, taskQueue: string, grace: string): NodeJS.ProcessEnv {
  return {
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: 'default',
    KS_ONBOARD_TASK_QUEUE: taskQueue,
    KS_ONBOARD_WORKFLOW_ID_PREFIX: t.prefixOf(taskQueue),
    KUBESPHERE_HOST: h.emulator.url,
    KUBESPHERE_USERNAME: 'admin',
    KUBESPHERE_PASSWORD: ADMIN_PASSWORD,
    KS_ONBOARD_SEAL_PRIVATE_KEYS: t.keys.private,
    KS_ONBOARD_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
    KS_ONBOARD_SHUTDOWN_GRACE: grace,
    LOG_LEVEL: 'info',
  };
}

/** SIGTERM; resolves with the exit code and how long the process took to exit after it. */
async function terminate(worker: RunningCli): Promise<{ code: number | null; ms: number }> {
  const sent = Date.now();
  worker.child.kill('SIGTERM');
  const code = await worker.exited;
  return { code, ms: Date.now() - sent };
}

/**
 * Proposes everyone to a worker process on a slow KubeSphere, sends it SIGTERM while KubeSphere requests of its
 * activities are open, then lets a second worker finish. Returns what happened for the assertions.
 */
async function interruptedRun(options: { latencyMs: number; grace: string }) {
  const h = await startEmulator({ faults: { latencyMs: options.latencyMs } });
  const taskQueue = t.taskQueue();
  t.useEmulator(taskQueue, h.emulator.url);
  const env = workerEnv(h, taskQueue, options.grace);
  const first = startCli(['worker'], env);
  let second: RunningCli | undefined;
  try {
    await first.waitFor(/worker ready/, 60_000);
    const proposed = await Promise.all(
      PEOPLE.map((p) => t.propose(taskQueue, { ...p, sealedPassword: t.sealPassword('Passw0rd1') })),
    );
    // Writes under way: a user was asked for, and requests of the worker's activities are open right now.
    await eventually(() => {
      expect(h.count('POST /kapis/iam.kubesphere.io/v1beta1/users')).toBeGreaterThan(0);
      expect(h.emulator.requests.inFlight).toBeGreaterThan(0);
    }, 60_000);
    const states = await Promise.all(proposed.map(({ handle }) => handle.query(stateQuery)));
    const unfinished = states.filter((s) => s.lifecycle !== 'done').length;
    const abortedBefore = h.emulator.requests.clientAborted;
    const inFlightAtSigterm = h.emulator.requests.inFlight;
    const stopped = await terminate(first);
    const aborted = h.emulator.requests.clientAborted - abortedBefore;

    second = startCli(['worker'], env);
    await second.waitFor(/worker ready/, 60_000);
    const results: OnboardingState[] = await Promise.all(proposed.map(({ handle }) => handle.result()));
    return { h, stopped, aborted, inFlightAtSigterm, unfinished, results, firstOutput: first.output() };
  } catch (error) {
    await h.close();
    throw error;
  } finally {
    if (first.child.exitCode === null) first.child.kill('SIGKILL');
    if (second) {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }
}

describe('graceful shutdown of a worker process (SIGTERM)', () => {
  let reference: ReturnType<typeof endState>;
  beforeAll(async () => {
    reference = await referenceState();
  }, 120_000);

  it(
    'attempts shorter than the grace period finish: exit 0 within the grace, nothing cut, a new worker completes everything',
    { timeout: 240_000 },
    async () => {
      const run = await interruptedRun({ latencyMs: 1_500, grace: '10s' });
      try {
        expect(run.unfinished).toBeGreaterThan(0); // really mid-run
        expect(run.inFlightAtSigterm).toBeGreaterThan(0);
        expect(run.stopped.code).toBe(0);
        expect(run.stopped.ms).toBeLessThan(10_000 + 2_000);
        expect(run.aborted).toBe(0); // every request in flight at SIGTERM got its answer
        expect(run.firstOutput).toMatch(/worker stopped/);
        expect(run.results.map((r) => r.lifecycle)).toEqual(['done', 'done', 'done', 'done']);
        // every create reported as this run's, whichever worker made it
        for (const result of run.results)
          for (const step of result.steps) expect(['created', 'existed', 'skipped']).toContain(step.outcome);
        expect(endState(run.h)).toEqual(reference);
      } finally {
        await run.h.close();
      }
    },
  );

  it(
    'attempts longer than the grace period are cancelled and handed back: exit 0 just after the grace, a new worker completes everything exactly once',
    { timeout: 240_000 },
    async () => {
      const run = await interruptedRun({ latencyMs: 5_000, grace: '1s' });
      try {
        expect(run.unfinished).toBeGreaterThan(0);
        expect(run.stopped.code).toBe(0);
        // not the 5 s a request takes: the attempts were cancelled at the end of the grace period
        expect(run.stopped.ms).toBeLessThan(1_000 + 2_500);
        expect(run.aborted).toBeGreaterThan(0); // their requests were really stopped, not left to finish
        expect(run.results.map((r) => r.lifecycle)).toEqual(['done', 'done', 'done', 'done']);
        expect(endState(run.h)).toEqual(reference);
      } finally {
        await run.h.close();
      }
    },
  );
});
