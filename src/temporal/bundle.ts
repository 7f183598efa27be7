import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { bundleWorkflowCode, type Logger } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from './data-converter.js';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../tracing/index.js';
import { workflowsPath } from './worker.js';
import { tracedBundlePath } from './bundle-path.js';

export { tracedBundlePath };

/**
 * The workflow bundle exactly as a worker would make it at start (our workflows, and the failure converter that
 * encodes failure messages): built once, at image build time or by the test setup, then loaded with
 * KS_ONBOARD_WORKFLOW_BUNDLE, so a worker starts in a second and every replica runs the same code.
 *
 * With `tracing`, the OpenTelemetry workflow interceptors are in it. They change no command a workflow sends (only
 * headers), so either bundle replays any history; but they make a span, a stack of promises and a sink call around
 * every step, about a fifth of a workflow task's CPU (docs/benchmarks.md), so a worker without tracing runs without.
 */
export async function bundleWorkflows(logger?: Logger, options: { tracing?: boolean } = {}): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: workflowsPath(),
    failureConverterPath: FAILURE_CONVERTER_PATH,
    workflowInterceptorModules: options.tracing ? [...WORKFLOW_INTERCEPTOR_MODULES] : [],
    ...(logger ? { logger } : {}),
  });
  return code;
}

/** Writes both bundles: `path` and, beside it, the one with the tracing interceptors (tracedBundlePath). */
export async function writeWorkflowBundle(path: string, logger?: Logger): Promise<number> {
  const [code, traced] = await Promise.all([bundleWorkflows(logger), bundleWorkflows(logger, { tracing: true })]);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, code);
  writeFileSync(tracedBundlePath(path), traced);
  return code.length;
}
