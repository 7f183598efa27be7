import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/temporal/dev-server.js';
import { startCli, type RunningCli } from '../helpers/cli.js';

/**
 * What an operator runs: `ks-onboard dev`, here on free ports and with its own data directory, so it never
 * meets a `dev` already running on this machine (:7233, :8233, …) or the operator's `.data/`.
 */
export interface DevStack {
  /** the Web UI, e.g. http://127.0.0.1:41233 */
  uiUrl: string;
  /** the codec server the Web UI decodes through (dev passes it to the UI) */
  codecUrl: string;
  temporalAddress: string;
  kubesphereUrl: string;
  dataDir: string;
  /** the environment of a second shell, as `dev` prints it (who you are is added per command) */
  env: NodeJS.ProcessEnv;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Variables of the test process that would make `dev` or the CLI differ from an operator's fresh shell
 * (the global setup's payload key ring, a developer's TEMPORAL_ADDRESS or KubeSphere login, …).
 * Undefined values are dropped by spawn.
 */
function operatorEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of Object.keys(process.env)) {
    if (/^(KS_ONBOARD_|KUBESPHERE_|TEMPORAL_)/.test(key) && key !== 'KS_ONBOARD_CACHE_DIR') env[key] = undefined;
  }
  return env;
}

export async function startDevStack(options: { temporalCli: string }): Promise<DevStack> {
  // A free port can be taken by another process before dev listens on it (tests run in parallel): new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePorts(options);
    } catch (error) {
      if (attempt >= 3 || !String(error).includes('EADDRINUSE')) throw error;
    }
  }
}

async function startOnFreePorts(options: { temporalCli: string }): Promise<DevStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ks-browser-dev-'));
  const [temporalPort, uiPort, emulatorPort, intakePort, codecPort] = await Promise.all(
    Array.from({ length: 5 }, () => freePort()),
  );
  const base = { ...operatorEnvironment(), KS_ONBOARD_DATA_DIR: dataDir };
  const dev: RunningCli = startCli(
    [
      'dev',
      '--temporal-port',
      String(temporalPort),
      '--ui-port',
      String(uiPort),
      '--emulator-port',
      String(emulatorPort),
      '--intake-port',
      String(intakePort),
      '--codec-port',
      String(codecPort),
    ],
    // the global setup found (or installed) the temporal CLI already
    { ...base, TEMPORAL_CLI: options.temporalCli },
  );
  const stop = async () => {
    if (dev.child.exitCode === null && dev.child.signalCode === null) {
      dev.child.kill('SIGINT'); // Ctrl-C: the worker drains, then dev stops the Temporal dev server it started
      const killer = setTimeout(() => dev.child.kill('SIGKILL'), 30_000);
      await dev.exited;
      clearTimeout(killer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await dev.waitFor(/Ctrl-C stops everything/, 90_000);
    const out = dev.output();
    const ui = /Web UI\s+(http:\/\/\S+) \(.*codec server (http:\/\/[^\s)]+)\)/.exec(out);
    const temporal = /Temporal\s+(\S+:\d+) /.exec(out);
    const kubesphere = /KubeSphere\s+(http:\/\/\S+) /.exec(out);
    if (!ui || !temporal || !kubesphere) throw new Error(`ks-onboard dev did not print its addresses:\n${out}`);
    const [, uiUrl, codecUrl] = ui as unknown as [string, string, string];
    return {
      uiUrl,
      codecUrl,
      temporalAddress: temporal[1]!,
      kubesphereUrl: kubesphere[1]!,
      dataDir,
      // TEMPORAL_UI_URL: the CLI's Web UI links (dev's hint prints no such line; without it, links assume :8233)
      env: { ...base, TEMPORAL_ADDRESS: temporal[1]!, KUBESPHERE_HOST: kubesphere[1]!, TEMPORAL_UI_URL: uiUrl },
      output: dev.output,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
