import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { findTemporalCli } from '../src/temporal/cli-binary.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { findTemporalTestServer } from '../src/temporal/test-server-binary.js';
import { bundleWorkflows } from '../src/temporal/bundle.js';
import { generateKeyRingEntry } from '../src/codec/payload-codec.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCli: string;
    /** the time-skipping test server binary (test/helpers/time-skipping.ts) */
    temporalTestServer: string;
    workflowBundlePath: string;
  }
}

/** One real Temporal dev server and one workflow bundle for the whole run; the time-skipping test server's path. */
export default async function setup(project: TestProject) {
  const cacheDir =
    process.env.KS_ONBOARD_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ks-onboard');
  // Both found (or installed) before anything starts: a missing one fails the run without leaving a server behind.
  const [binary, testServer] = await Promise.all([
    findTemporalCli({
      explicit: process.env.TEMPORAL_CLI,
      path: process.env.PATH,
      cacheDir,
      log: (l) => console.log(l),
    }),
    findTemporalTestServer({ explicit: process.env.TEMPORAL_TEST_SERVER, cacheDir, log: (l) => console.log(l) }),
  ]);
  // Payloads are encrypted in tests as in production: one key ring for the run, inherited by every test process
  // and every CLI or worker process they start.
  process.env.KS_ONBOARD_CODEC_KEYS ??= generateKeyRingEntry('test');
  const starting = startDevServer({ binary, port: 0 });
  let server: Awaited<typeof starting>;
  let bundle: string;
  try {
    [server, bundle] = await Promise.all([
      starting,
      // the same bundle `ks-onboard bundle` (and the image build) makes
      bundleWorkflows(quietLogger),
      // CLI tests run the built CLI as users do (dist/), so it is built from the current source first.
      // (KS_TEST_NO_BUILD=1 skips it when iterating on tests that do not run the CLI.)
      process.env.KS_TEST_NO_BUILD ? Promise.resolve() : exec('npm', ['run', '--silent', 'build'], { cwd: ROOT }),
    ]);
  } catch (error) {
    // A failed build or bundle must not leave the dev server running.
    await starting.then((s) => s.stop()).catch(() => undefined);
    throw error;
  }
  const bundlePath = join(mkdtempSync(join(tmpdir(), 'ks-bundle-')), 'workflows.js');
  writeFileSync(bundlePath, bundle);
  project.provide('temporalAddress', server.address);
  project.provide('temporalCli', binary);
  project.provide('temporalTestServer', testServer);
  project.provide('workflowBundlePath', bundlePath);
  return async () => {
    await server.stop();
  };
}

const noop = () => undefined;
const quietLogger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: (m: string) => console.error(m),
  log: noop,
};
