import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { startCli, runCli } from '../helpers/cli.js';
import { newWebhookSecret } from '../helpers/hr-vendors.js';
import { WorkflowNotFoundError } from '@temporalio/client';
import { createTemporalClient } from '../../src/temporal/client.js';

/** The intake as an operator runs it: `ks-onboard serve`, with `ks-onboard hire` as the HR system. */
describe('ks-onboard serve', () => {
  const secret = newWebhookSecret();
  const env = (extra: NodeJS.ProcessEnv = {}) => ({
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    // No worker polls this queue: an onboarding is started but nobody answers it, so a request stays in flight.
    KS_ONBOARD_TASK_QUEUE: `serve-${randomBytes(4).toString('hex')}`,
    KS_ONBOARD_WEBHOOK_SECRETS: secret,
    KS_ONBOARD_PLACEMENT: 'samples/placement.yaml',
    KS_ONBOARD_INTAKE_TOKEN: randomBytes(24).toString('hex'),
    LOG_LEVEL: 'info',
    ...extra,
  });
  const dir = join(tmpdir(), `ks-serve-${randomBytes(4).toString('hex')}`);

  async function onboardingStarted(workflowId: string): Promise<void> {
    const client = await createTemporalClient({ address: inject('temporalAddress'), namespace: 'default' });
    try {
      for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
        const found = await client.workflow
          .getHandle(workflowId)
          .describe()
          .then(
            () => true,
            (error: unknown) => (error instanceof WorkflowNotFoundError ? false : Promise.reject(error)),
          );
        if (found) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`${workflowId} was not started within 30 s`);
    } finally {
      await client.connection.close();
    }
  }

  it('finishes a request in flight on SIGTERM, takes no new one, and exits 0', async () => {
    const serve = startCli(
      ['serve', '--port', '0'],
      env({
        KS_ONBOARD_HIBOB_SECRETS: 'bob-secret-0123456789abcdef',
        KS_ONBOARD_HIBOB_SERVICE_USER: 'SERVICE-1:bob-token-0123456789',
      }),
    );
    try {
      const [, url] = await serve.waitFor(/"url":"(http:\/\/[^"]+)".*HR intake ready/);
      const hire = startCli(
        [
          'hire',
          '--url',
          url!,
          '--username',
          'sig.term',
          '--email',
          'sig.term@example.com',
          '--first-name',
          'Sig',
          '--last-name',
          'Term',
          '--department',
          'Search',
        ],
        env(),
      );
      // Once the onboarding exists, the delivery is in the intake waiting for a worker's answer (none comes:
      // it acknowledges after 5 s), so the SIGTERM below lands on a request in flight.
      await onboardingStarted('onboard-sig.term');
      serve.child.kill('SIGTERM');
      await serve.waitFor(/HR intake stopping/);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
      expect(await hire.exited).toBe(0);
      expect(hire.output()).toMatch(/^202 .*onboard-sig\.term pending/m);
      expect(await serve.exited).toBe(0);
      expect(serve.output()).toContain('HR intake stopped');
      // The dev server keeps closed runs for a day: shorter than HiBob's replay window, and said so.
      expect(serve.output()).toMatch(/less than HiBob's 4-day replay window/);
      expect(serve.output()).not.toContain(secret.slice(6));
    } finally {
      serve.child.kill('SIGKILL');
    }
  });

  it('starts while Temporal is down and is not ready until it answers', async () => {
    const serve = startCli(['serve', '--port', '0'], env({ TEMPORAL_ADDRESS: '127.0.0.1:1' }));
    try {
      const [, url] = await serve.waitFor(/"url":"(http:\/\/[^"]+)".*HR intake ready/);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'Temporal is not reachable' });
      // A delivery meanwhile: 503 within seconds (the vendor delivers again), logged.
      const started = Date.now();
      const hire = await runCli(
        [
          'hire',
          '--url',
          url!,
          '--username',
          'no.temporal',
          '--email',
          'nt@example.com',
          '--first-name',
          'N',
          '--last-name',
          'T',
          '--department',
          'Search',
        ],
        env(),
      );
      expect(hire.code).toBe(1);
      expect(hire.output).toMatch(/HR intake answered 503: Temporal is not reachable right now/);
      expect(Date.now() - started).toBeLessThan(9_000);
      await serve.waitFor(/HR delivery could not be handed to Temporal/);
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  });

  it('refuses to start on a bad setting, naming it (exit 2)', async () => {
    const { KS_ONBOARD_PLACEMENT: _unused, ...unset } = env();
    const missing = await runCli(['serve'], unset);
    expect(missing.code).toBe(2);
    expect(missing.output).toMatch(
      /KS_ONBOARD_PLACEMENT: webhook secrets are set, so the placement mapping file is needed too/,
    );
    const empty = await runCli(['serve'], env({ KS_ONBOARD_PLACEMENT: '' }));
    expect(empty.output).toMatch(/KS_ONBOARD_PLACEMENT: must name the mapping file/);
    const file = `${dir}-mapping.yaml`;
    writeFileSync(file, 'departments:\n  Payments:\n    workspace: payments\n    workspaceRole: owner\n');
    const bad = await runCli(['serve'], env({ KS_ONBOARD_PLACEMENT: file }));
    expect(bad.code).toBe(2);
    expect(bad.output).toContain(`KS_ONBOARD_PLACEMENT (${file}): departments.Payments.workspaceRole`);
    const secretBad = await runCli(['serve'], env({ KS_ONBOARD_WEBHOOK_SECRETS: 'whsec_short' }));
    expect(secretBad.code).toBe(2);
    expect(secretBad.output).toMatch(/KS_ONBOARD_WEBHOOK_SECRETS: entry 1 of 1/);
    expect(secretBad.output).not.toContain('whsec_short');
    const noMapping = env({ KS_ONBOARD_PLACEMENT: undefined });
    const { KS_ONBOARD_PLACEMENT: _none, ...worker } = noMapping;
    const workerRefused = await runCli(['worker'], {
      ...worker,
      KUBESPHERE_HOST: 'http://127.0.0.1:1',
      KUBESPHERE_TOKEN: 'x',
    });
    expect(workerRefused.code).toBe(2);
    expect(workerRefused.output).toMatch(
      /KS_ONBOARD_PLACEMENT: webhook secrets are set, so the placement mapping file is needed too/,
    );
    const cancel = await runCli(['cancel', 'foo'], env());
    expect(cancel.code).toBe(2);
    expect(cancel.output).toMatch(/cancel takes import-<batchId> or onboard-<username>/);
  });
});
