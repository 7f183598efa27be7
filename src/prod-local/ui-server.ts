import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startServer, waitUntil, type ServerProcess } from './process.js';

/** The environment name the UI server loads its configuration by (`config/<env>.yaml`). */
const UI_ENV = 'prod-local';

export interface UiSettings {
  /** the Temporal frontend, host:port */
  temporalAddress: string;
  host: string;
  port: number;
  namespace: string;
  /** the codec server the browser decodes payloads through */
  codecEndpoint: string;
}

/**
 * The UI server's configuration, in the keys its image fills from the variables docker-compose.yml sets
 * (ui-server's `config/docker.yaml`: TEMPORAL_ADDRESS → temporalGrpcAddress, TEMPORAL_UI_PORT → port,
 * TEMPORAL_DEFAULT_NAMESPACE → defaultNamespace, TEMPORAL_CODEC_ENDPOINT → codec.endpoint, TEMPORAL_CORS_ORIGINS →
 * cors.allowOrigins, TEMPORAL_CSRF_COOKIE_INSECURE → cors.cookieInsecure).
 */
export function renderUiConfig(settings: UiSettings): string {
  const origins = [`http://127.0.0.1:${settings.port}`, `http://localhost:${settings.port}`];
  return [
    '# Rendered by `ks-onboard stack prod-local` at every start (the UI server of the compose file, here).',
    stringify(
      {
        temporalGrpcAddress: settings.temporalAddress,
        host: settings.host,
        port: settings.port,
        enableUi: true,
        defaultNamespace: settings.namespace,
        disableNewsFetch: true,
        refreshInterval: '0s',
        cors: {
          // plain HTTP on loopback: the CSRF cookie cannot be Secure
          cookieInsecure: true,
          unsafeAllowAllOrigins: false,
          allowOrigins: origins,
        },
        codec: { endpoint: settings.codecEndpoint, passAccessToken: false, includeCredentials: false },
        forwardHeaders: [],
        hideLogs: true,
      },
      { lineWidth: 0 },
    ),
  ].join('\n');
}

export interface UiServer {
  process: ServerProcess;
  url: string;
  stop(): Promise<void>;
}

/** `server --root <dir> --env prod-local start`, waited for until it serves the UI and its settings. */
export async function startUiServer(options: {
  binary: string;
  dir: string;
  logFile: string;
  pidFile: string;
  settings: UiSettings;
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
}): Promise<UiServer> {
  const configDir = join(options.dir, 'config');
  mkdirSync(configDir, { recursive: true });
  writeFileSync(join(configDir, `${UI_ENV}.yaml`), renderUiConfig(options.settings));
  const server = startServer({
    name: 'the Web UI server',
    command: options.binary,
    args: ['--root', options.dir, '--config', 'config', '--env', UI_ENV, 'start'],
    logFile: options.logFile,
    pidFile: options.pidFile,
    env: options.env,
  });
  const url = `http://${options.settings.host === '0.0.0.0' ? '127.0.0.1' : options.settings.host}:${options.settings.port}`;
  try {
    await waitUntil(
      server,
      async () => {
        const response = await fetch(`${url}/api/v1/settings`, { signal: AbortSignal.timeout(2_000) });
        return response.ok;
      },
      `the Web UI answering on ${url}`,
      options.timeoutMs ?? 30_000,
    );
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { process: server, url, stop: () => server.stop() };
}
