import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { TemporalEnv } from './temporal-env.js';

/**
 * The Temporal server's configuration, rendered here from the variables the temporalio/server image renders its
 * own from (the server module's `docker/config_template.yaml`, embedded in the server as
 * `common/config/config_template_embedded.yaml`): the PostgreSQL branch, without Elasticsearch, TLS or an
 * authorizer. Each value below names the variable it comes from, so the local stack and docker-compose.yml run
 * one configuration; what differs locally is only where things are (PostgreSQL on 127.0.0.1, free ports, files in
 * the data directory).
 */
export interface ServerVars {
  DB: TemporalEnv['DB'];
  DB_PORT: number;
  POSTGRES_SEEDS: string;
  POSTGRES_USER: string;
  POSTGRES_PWD: string;
  DBNAME: string;
  VISIBILITY_DBNAME: string;
  /** the template reads VISIBILITY_DB_PORT, else POSTGRES_PORT, else 5432 (not DB_PORT) */
  VISIBILITY_DB_PORT: number;
  NUM_HISTORY_SHARDS: number;
  BIND_ON_IP: string;
  FRONTEND_GRPC_PORT: number;
  FRONTEND_HTTP_PORT: number;
  FRONTEND_MEMBERSHIP_PORT: number;
  HISTORY_GRPC_PORT: number;
  HISTORY_MEMBERSHIP_PORT: number;
  MATCHING_GRPC_PORT: number;
  MATCHING_MEMBERSHIP_PORT: number;
  WORKER_GRPC_PORT: number;
  WORKER_MEMBERSHIP_PORT: number;
  DYNAMIC_CONFIG_FILE_PATH: string;
  LOG_LEVEL: string;
}

export type ServerPorts = Pick<
  ServerVars,
  | 'FRONTEND_GRPC_PORT'
  | 'FRONTEND_HTTP_PORT'
  | 'FRONTEND_MEMBERSHIP_PORT'
  | 'HISTORY_GRPC_PORT'
  | 'HISTORY_MEMBERSHIP_PORT'
  | 'MATCHING_GRPC_PORT'
  | 'MATCHING_MEMBERSHIP_PORT'
  | 'WORKER_GRPC_PORT'
  | 'WORKER_MEMBERSHIP_PORT'
>;

/** The template's default ports, as offsets from the frontend's gRPC port (7233 → 7243, 6933, 7234, …). */
export function portsFrom(frontend: number): ServerPorts {
  return {
    FRONTEND_GRPC_PORT: frontend,
    FRONTEND_HTTP_PORT: frontend + 10,
    FRONTEND_MEMBERSHIP_PORT: frontend - 300,
    HISTORY_GRPC_PORT: frontend + 1,
    HISTORY_MEMBERSHIP_PORT: frontend - 299,
    MATCHING_GRPC_PORT: frontend + 2,
    MATCHING_MEMBERSHIP_PORT: frontend - 298,
    WORKER_GRPC_PORT: frontend + 6,
    WORKER_MEMBERSHIP_PORT: frontend - 294,
  };
}

/** The server's YAML, with a header naming where it came from. */
export function renderServerConfig(vars: ServerVars, options: { logFile: string }): string {
  const sql = (database: string, port: number, maxConns: number) => ({
    pluginName: vars.DB,
    databaseName: database,
    connectAddr: `${vars.POSTGRES_SEEDS}:${port}`,
    connectProtocol: 'tcp',
    user: vars.POSTGRES_USER,
    password: vars.POSTGRES_PWD,
    maxConns,
    maxIdleConns: maxConns,
    maxConnLifetime: '1h',
    tls: { enabled: false },
  });
  const rpc = (grpcPort: number, membershipPort: number, httpPort?: number) => ({
    rpc: { grpcPort, membershipPort, bindOnIP: vars.BIND_ON_IP, ...(httpPort ? { httpPort } : {}) },
  });
  const config = {
    log: { stdout: false, outputFile: options.logFile, level: vars.LOG_LEVEL },
    persistence: {
      numHistoryShards: vars.NUM_HISTORY_SHARDS,
      defaultStore: 'default',
      visibilityStore: 'visibility',
      datastores: {
        // SQL_MAX_CONNS (20) and SQL_VIS_MAX_CONNS (10): the template's defaults
        default: { sql: sql(vars.DBNAME, vars.DB_PORT, 20) },
        visibility: { sql: sql(vars.VISIBILITY_DBNAME, vars.VISIBILITY_DB_PORT, 10) },
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '' },
      pprof: { port: 0 },
    },
    services: {
      frontend: rpc(vars.FRONTEND_GRPC_PORT, vars.FRONTEND_MEMBERSHIP_PORT, vars.FRONTEND_HTTP_PORT),
      matching: rpc(vars.MATCHING_GRPC_PORT, vars.MATCHING_MEMBERSHIP_PORT),
      history: rpc(vars.HISTORY_GRPC_PORT, vars.HISTORY_MEMBERSHIP_PORT),
      worker: rpc(vars.WORKER_GRPC_PORT, vars.WORKER_MEMBERSHIP_PORT),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `127.0.0.1:${vars.FRONTEND_GRPC_PORT}`,
          httpAddress: `127.0.0.1:${vars.FRONTEND_HTTP_PORT}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: {
      history: { state: 'disabled' },
      visibility: { state: 'disabled' },
    },
    namespaceDefaults: {
      archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    },
    dynamicConfigClient: { filepath: vars.DYNAMIC_CONFIG_FILE_PATH, pollInterval: '60s' },
  };
  return [
    '# Rendered by `ks-onboard stack prod-local` from deploy/temporal.env and the local settings, as the',
    "# temporalio/server image renders its configuration from the same variables (the server module's",
    '# docker/config_template.yaml). Rewritten at every start: edit deploy/temporal.env or the flags, not this file.',
    '# It holds the database password: mode 0600, never committed.',
    stringify(config, { lineWidth: 0 }),
  ].join('\n');
}

/**
 * The dynamic configuration docker-compose.yml mounts into the server (deploy/temporal/dynamicconfig/docker.yaml):
 * the local server reads the same file. Its fallback, should the file be missing, states the same two settings.
 */
export const COMPOSE_DYNAMIC_CONFIG = fileURLToPath(
  new URL('../../deploy/temporal/dynamicconfig/docker.yaml', import.meta.url),
);

export function fallbackDynamicConfig(): string {
  return stringify({
    'frontend.enableUpdateWorkflowExecution': [{ value: true }],
    'frontend.enableExecuteMultiOperation': [{ value: true }],
  });
}
