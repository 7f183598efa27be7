import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/definitions.js';
import { startServer, waitUntil, type ServerProcess } from './process.js';

const exec = promisify(execFile);

/** `temporal-sql-tool` for one database: the schema set up (from version 0.0) and updated to the module's latest. */
export async function setupSchema(options: {
  sqlTool: string;
  plugin: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** the module's `schema/postgresql/v12/<temporal|visibility>/versioned` */
  versionedDir: string;
  env: NodeJS.ProcessEnv;
}): Promise<void> {
  const base = [
    '--plugin',
    options.plugin,
    '--ep',
    options.host,
    '--port',
    String(options.port),
    '--user',
    options.user,
    '--db',
    options.database,
  ];
  // the password through the tool's own variable: never on a command line others can list
  const env = { ...options.env, SQL_PASSWORD: options.password };
  const run = async (args: string[]) => {
    try {
      await exec(options.sqlTool, [...base, ...args], { env, timeout: 300_000 });
    } catch (error) {
      const e = error as { stderr?: string; stdout?: string; message: string };
      throw new Error(
        `temporal-sql-tool ${args[0]} on database ${options.database} failed: ${(e.stderr || e.stdout || e.message).trim().split('\n').slice(-5).join('\n')}`,
      );
    }
  };
  // both are idempotent: setup-schema leaves a versioned database as it is, update-schema applies what is missing
  await run(['setup-schema', '-v', '0.0']);
  await run(['update-schema', '-d', options.versionedDir]);
}

export interface TemporalServer {
  process: ServerProcess;
  address: string;
  stop(): Promise<void>;
}

/** `server --config-file <rendered> --allow-no-auth start`: all four services in one process. */
export async function startTemporalServer(options: {
  binary: string;
  configFile: string;
  logFile: string;
  pidFile: string;
  address: string;
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
}): Promise<TemporalServer> {
  const server = startServer({
    name: 'the Temporal server',
    command: options.binary,
    // no authorizer: it listens on loopback only (BIND_ON_IP below); say so rather than be warned at each start
    args: ['--config-file', options.configFile, '--allow-no-auth', 'start'],
    logFile: options.logFile,
    pidFile: options.pidFile,
    env: options.env,
  });
  try {
    await waitUntil(
      server,
      () => answers(options.address, (c) => c.workflowService.getSystemInfo({}).then(() => true)),
      `its frontend answering on ${options.address}`,
      options.timeoutMs ?? 90_000,
    );
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { process: server, address: options.address, stop: () => server.stop() };
}

async function answers(address: string, call: (c: Connection) => Promise<boolean>): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 1_000 });
  try {
    return await call(connection);
  } finally {
    await connection.close();
  }
}

/**
 * The namespace (created with the temporal CLI's `operator namespace create`, as the compose file's one-shot does)
 * and our search attributes, each only when missing; then waits until the frontend serves both, since the
 * namespace registry and the search attribute aliases reach it on a refresh (up to about 10 s).
 */
export async function ensureNamespace(options: {
  temporalCli: string;
  address: string;
  namespace: string;
  retention: string;
  log: (line: string) => void;
  timeoutMs?: number;
}): Promise<{ created: boolean; addedAttributes: string[] }> {
  const { address, namespace } = options;
  const connection = await Connection.connect({ address });
  try {
    let created = false;
    if (!(await namespaceExists(connection, namespace))) {
      const args = ['operator', 'namespace', 'create', '--address', address, '--namespace', namespace];
      args.push('--retention', options.retention);
      options.log(`temporal ${args.join(' ')}`);
      try {
        await exec(options.temporalCli, args, { timeout: 60_000 });
      } catch (error) {
        const text = (error as { stderr?: string }).stderr ?? String(error);
        if (!/already exists|AlreadyExists/i.test(text)) throw new Error(`temporal operator namespace create: ${text}`);
      }
      created = true;
    }
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    const attempt = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
      for (;;) {
        try {
          return await call();
        } catch (error) {
          if (Date.now() > deadline) throw new Error(`${what}: ${(error as Error).message}`);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    };
    // a new namespace reaches the frontend's registry on its next refresh
    await attempt(`namespace ${namespace} not served by ${address}`, () =>
      connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 }),
    );
    const addedAttributes = await attempt('search attributes', () => ensureSearchAttributes(connection, namespace));
    if (addedAttributes.length)
      options.log(`registered search attributes ${addedAttributes.join(', ')} in namespace ${namespace}`);
    // a query naming each one is accepted only once the aliases are served
    const query = SEARCH_ATTRIBUTE_KEYS.map((key) => `${key.name} = 'x'`).join(' OR ');
    await attempt(`search attributes not served by ${address}`, () =>
      connection.workflowService.countWorkflowExecutions({ namespace, query }),
    );
    return { created, addedAttributes };
  } finally {
    await connection.close();
  }
}

async function namespaceExists(connection: Connection, namespace: string): Promise<boolean> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch (error) {
    if ((error as { code?: number }).code === 5) return false; // NOT_FOUND
    throw error;
  }
}

export function serverLogFile(dir: string): string {
  return join(dir, 'logs', 'temporal-server.log');
}
