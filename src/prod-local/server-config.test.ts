import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compareVersions } from './binaries.js';
import { portsFrom, renderServerConfig, type ServerVars } from './server-config.js';
import { parseEnvFile, readTemporalEnv, TEMPORAL_ENV_FILE } from './temporal-env.js';
import { renderUiConfig } from './ui-server.js';

describe('stack prod-local configuration', () => {
  it('reads deploy/temporal.env, the contract with docker-compose.yml', () => {
    const env = readTemporalEnv();
    expect(env).toMatchObject({ DB: 'postgres12', POSTGRES_USER: 'temporal', DBNAME: 'temporal' });
    expect(env.VISIBILITY_DBNAME).toBe('temporal_visibility');
    // never a password in the shared file: it comes from a secret file
    expect(parseEnvFile(readFileSync(TEMPORAL_ENV_FILE, 'utf8'))).not.toHaveProperty('POSTGRES_PWD');
  });

  it('parses env files as compose does (comments, blank lines, quotes) and names a bad line', () => {
    expect(parseEnvFile('# c\n\nA=1\nB="two words"\nC=\'x\'\n')).toEqual({ A: '1', B: 'two words', C: 'x' });
    expect(() => parseEnvFile('A=1\nnot a pair\n')).toThrow(/line 2/);
  });

  it("puts the server's ports where the server image's template does around the frontend's", () => {
    expect(portsFrom(7233)).toEqual({
      FRONTEND_GRPC_PORT: 7233,
      FRONTEND_HTTP_PORT: 7243,
      FRONTEND_MEMBERSHIP_PORT: 6933,
      HISTORY_GRPC_PORT: 7234,
      HISTORY_MEMBERSHIP_PORT: 6934,
      MATCHING_GRPC_PORT: 7235,
      MATCHING_MEMBERSHIP_PORT: 6935,
      WORKER_GRPC_PORT: 7239,
      WORKER_MEMBERSHIP_PORT: 6939,
    });
  });

  it('renders the template’s PostgreSQL configuration from the variables', () => {
    const vars: ServerVars = {
      DB: 'postgres12',
      DB_PORT: 5433,
      POSTGRES_SEEDS: '127.0.0.1',
      POSTGRES_USER: 'temporal',
      POSTGRES_PWD: 'secret',
      DBNAME: 'temporal',
      VISIBILITY_DBNAME: 'temporal_visibility',
      VISIBILITY_DB_PORT: 5433,
      NUM_HISTORY_SHARDS: 4,
      BIND_ON_IP: '127.0.0.1',
      ...portsFrom(7233),
      DYNAMIC_CONFIG_FILE_PATH: '/data/dynamicconfig.yaml',
      LOG_LEVEL: 'warn',
    };
    const config = parse(renderServerConfig(vars, { logFile: '/data/server.log' })) as {
      persistence: { numHistoryShards: number; datastores: Record<string, { sql: Record<string, unknown> }> };
      services: Record<string, { rpc: Record<string, unknown> }>;
      dynamicConfigClient: { filepath: string };
    };
    expect(config.persistence.numHistoryShards).toBe(4);
    expect(config.persistence.datastores.default!.sql).toMatchObject({
      pluginName: 'postgres12',
      databaseName: 'temporal',
      connectAddr: '127.0.0.1:5433',
      user: 'temporal',
      password: 'secret',
    });
    expect(config.persistence.datastores.visibility!.sql).toMatchObject({ databaseName: 'temporal_visibility' });
    expect(config.services.frontend!.rpc).toEqual({
      grpcPort: 7233,
      membershipPort: 6933,
      bindOnIP: '127.0.0.1',
      httpPort: 7243,
    });
    expect(config.dynamicConfigClient.filepath).toBe('/data/dynamicconfig.yaml');
  });

  it("wires the Web UI to the frontend and the codec server, admitting only the UI's own origins", () => {
    const ui = parse(
      renderUiConfig({
        temporalAddress: '127.0.0.1:7233',
        host: '127.0.0.1',
        port: 8080,
        namespace: 'default',
        codecEndpoint: 'http://127.0.0.1:8888',
      }),
    ) as Record<string, unknown>;
    expect(ui).toMatchObject({
      temporalGrpcAddress: '127.0.0.1:7233',
      port: 8080,
      codec: { endpoint: 'http://127.0.0.1:8888' },
      cors: { allowOrigins: ['http://127.0.0.1:8080', 'http://localhost:8080'], unsafeAllowAllOrigins: false },
    });
  });

  it('compares Go versions', () => {
    expect(compareVersions('1.26.8', '1.26.5')).toBeGreaterThan(0);
    expect(compareVersions('1.25.8', '1.26.5')).toBeLessThan(0);
    expect(compareVersions('1.26', '1.26.0')).toBe(0);
    expect(compareVersions('1.27rc1', '1.26.5')).toBeGreaterThan(0);
  });
});
