import { readdirSync, readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readPem } from '../../src/codec/seal.js';
import { codecKeyRing } from '../../src/config.js';
import { dataConverterFor, FAILURE_CONVERTER_PATH } from '../../src/temporal/data-converter.js';
import { onboardingInput, proposeOnboarding } from '../../src/temporal/start.js';
import { workflowsPath } from '../../src/temporal/worker.js';
import {
  clientTracing,
  startTracing,
  WORKFLOW_INTERCEPTOR_MODULES,
  workflowSpanSink,
  type Tracing,
} from '../../src/tracing/index.js';
import { WORKFLOW_ID } from '../../src/workflows/definitions.js';
import { startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { HISTORIES_DIR } from '../helpers/histories.js';
import { OPS, temporalHarness, type TemporalHarness } from '../helpers/temporal.js';
import { observedWorkers } from './helpers.js';

/**
 * Tracing through Temporal's OpenTelemetry interceptors. The workflow half is bundled: this builds the bundle as
 * `ks-onboard bundle` builds it with the interceptors module in (src/temporal/bundle.ts), checks that the recorded
 * histories still replay on it, then traces an onboarding from the client's start to each KubeSphere request.
 */
let t: TemporalHarness;
let h: EmulatorHarness;
let workers: Awaited<ReturnType<typeof observedWorkers>>;
let bundlePath: string;
let tracing: Tracing;
const exporter = new InMemorySpanExporter();

const quiet = { trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: console.error, log: () => {} };

beforeAll(async () => {
  t = await temporalHarness();
  h = await startEmulator();
  workers = await observedWorkers(t);
  const { code } = await bundleWorkflowCode({
    workflowsPath: workflowsPath(),
    failureConverterPath: FAILURE_CONVERTER_PATH,
    workflowInterceptorModules: [...WORKFLOW_INTERCEPTOR_MODULES],
    logger: quiet,
  });
  bundlePath = join(mkdtempSync(join(tmpdir(), 'ks-bundle-otel-')), 'workflows.js');
  writeFileSync(bundlePath, code);
  tracing = startTracing({ serviceName: 'ks-onboard-test', spanProcessor: new SimpleSpanProcessor(exporter) });
}, 240_000);
afterAll(async () => {
  await tracing?.shutdown();
  await workers.close();
  await h.close();
  await t.close();
});

describe('tracing', () => {
  it('the bundle with the tracing interceptors replays every recorded history (tracing off or on changes no history)', async () => {
    const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const file of files) {
      const saved = JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')) as {
        workflowId: string;
        history: Record<string, unknown>;
      };
      const history = proto.temporal.api.history.v1.History.fromObject(saved.history);
      await expect(
        Worker.runReplayHistory(
          { workflowBundle: { codePath: bundlePath }, sinks: workflowSpanSink() },
          history,
          saved.workflowId,
        ),
        file,
      ).resolves.toBeUndefined();
    }
  });

  it('an onboarding is one trace: the client’s start, the workflow, each activity, each KubeSphere request', async () => {
    const taskQueue = t.taskQueue();
    const worker = await workers.worker(taskQueue, h.emulator.url, { tracing }, { workflowBundle: bundlePath });
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    const client = new Client({
      connection,
      namespace: 'default',
      dataConverter: dataConverterFor(codecKeyRing()),
      interceptors: clientTracing(tracing),
    });
    try {
      await worker.runUntil(async () => {
        const request = { username: 'tr-alice', email: 'tr-alice@example.com', workspace: 'tr-team' };
        const workflowId = WORKFLOW_ID.onboard(request.username, t.prefixOf(taskQueue));
        const requester = { token: await t.tokenOf(h.emulator.url, OPS), publicKey: readPem(t.keys.public) };
        const { handle } = await proposeOnboarding(
          client,
          taskQueue,
          onboardingInput(request, requester, workflowId),
          workflowId,
        );
        await handle.result();
      });
    } finally {
      await connection.close();
    }
    const spans = exporter.getFinishedSpans();
    const names = spans.map((s) => s.name);
    expect(names).toContain('UpdateWithStartWorkflow:propose');
    expect(names).toContain('RunWorkflow:onboardUser');
    expect(names).toContain('StartActivity:ensureWorkspace');
    expect(names).toContain('RunActivity:ensureWorkspace');
    expect(names).toContain('RunActivity:ensureUser');
    expect(names).toContain('KubeSphere POST /kapis/tenant.kubesphere.io/v1beta1/workspacetemplates');
    // one trace, started by the client's update-with-start (named by its update)
    const start = spans.find((s) => s.name === 'UpdateWithStartWorkflow:propose')!;
    const traceId = start.spanContext().traceId;
    const run = spans.find((s) => s.name === 'RunWorkflow:onboardUser')!;
    expect(run.spanContext().traceId).toBe(traceId);
    const activity = spans.find((s) => s.name === 'RunActivity:ensureWorkspace')!;
    expect(activity.spanContext().traceId).toBe(traceId);
    // a KubeSphere request is a child of the activity that sent it, named by its route, never by a name
    const request = spans.find(
      (s) =>
        s.name === 'KubeSphere POST /kapis/tenant.kubesphere.io/v1beta1/workspacetemplates' &&
        s.parentSpanId === activity.spanContext().spanId,
    );
    expect(request?.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 200 });
    expect(JSON.stringify(spans.map((s) => [s.name, s.attributes]))).not.toMatch(/tr-alice@|ks-sealed/);
  });
});
