import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { bundleWorkflowCode, type Logger } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from './data-converter.js';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../tracing/index.js';
import { workflowsPath } from './worker.js';

/**
 * The workflow bundle exactly as a worker would make it at start (our workflows, and the failure converter that
 * encodes failure messages): built once, at image build time or by the test setup, then loaded with
 * KS_ONBOARD_WORKFLOW_BUNDLE, so a worker starts in a second and every replica runs the same code.
 */
export async function bundleWorkflows(logger?: Logger): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: workflowsPath(),
    failureConverterPath: FAILURE_CONVERTER_PATH,
    // always in: turning tracing on or off never changes what a workflow records
    workflowInterceptorModules: [...WORKFLOW_INTERCEPTOR_MODULES],
    ...(logger ? { logger } : {}),
  });
  return code;
}

export async function writeWorkflowBundle(path: string, logger?: Logger): Promise<number> {
  const code = await bundleWorkflows(logger);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, code);
  return code.length;
}
