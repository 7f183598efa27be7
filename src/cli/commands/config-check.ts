import { connect } from 'node:net';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Client } from '@temporalio/client';
import {
  codecConfig,
  ConfigError,
  environmentSnapshot,
  hrConfig,
  intakeConfig,
  kubesphereConfig,
  kubesphereHost,
  logLevel,
  notifyConfig,
  observabilityConfig,
  pathsConfig,
  requiredCodecKeyRing,
  setVariables,
  temporalConnectionConfig,
  temporalEndpointConfig,
  temporalUiConfigured,
  temporalUiUrl,
  workerConfig,
  workerPolicyConfig,
  type KubeSphereConfig,
  type TemporalConfig,
} from '../../config.js';
import { readPrivateKeyFile, readSecretFile } from '../../files.js';
import { KubeSphereClient } from '../../kubesphere/client.js';
import { isKubeSphereError } from '../../kubesphere/errors.js';
import { loginOnce } from '../../kubesphere/login.js';
import { escapeControl } from '../../policy/names.js';
import { createTemporalClient } from '../../temporal/client.js';
import { describeConnectionSecurity, type TemporalConnectionSettings } from '../../temporal/connection-config.js';
import {
  howToAddSearchAttributes,
  inspectSearchAttributes,
  sqlSlotShortage,
} from '../../temporal/search-attributes.js';
import { duration } from '../output.js';

/**
 * `ks-onboard config check`: the effective configuration of this environment as the worker, the HR intake and the
 * codec server read it (through the same parsers; secrets masked), then whether Temporal and KubeSphere answer. Every
 * problem is reported, each with its variable. KubeSphere gets exactly one login, never retried: it locks an account
 * after repeated failed logins. Exit 0: all good; 2: a configuration error (a bad value, a refused login, an unknown
 * namespace, search attributes the worker cannot register); 1: a connection failed.
 */

type Process = 'worker' | 'intake' | 'codec-server';
const PROCESSES: readonly Process[] = ['worker', 'intake', 'codec-server'];

type Value = string | number | boolean | string[] | null;

interface Context {
  /** the names of the variables this environment sets */
  set: Set<string>;
  /** the environment, for config.ts's parsers (a section is parsed again without the variables already reported) */
  env: NodeJS.ProcessEnv;
  /** variables left unset whose value another variable gave (the value says which): not defaults */
  derived: Set<string>;
}

interface SectionSpec {
  id: string;
  title: string;
  /** the processes that read it; a problem counts when one of them is checked */
  readBy: Process[];
  /** the section's variables and their effective values (masked); throws a ConfigError naming the variables */
  describe(context: Context): Record<string, Value>;
}

interface Section {
  title: string;
  readBy: Process[];
  values?: Record<string, Value>;
  /** variables left at their defaults */
  defaults?: string[];
  error?: string;
}

export interface Check {
  name: string;
  ok: boolean;
  message: string;
  variable?: string;
  /** not run because something it needs is wrong (named in another check) */
  skipped?: boolean;
}
type KindedCheck = Check & { kind: 'config' | 'connectivity' };

const MASK = '***';
const masked = (value: string | undefined): string | null => (value === undefined ? null : MASK);
const maskedLength = (value: string | undefined): string | null =>
  value === undefined ? null : `${MASK} (${value.length} characters)`;
const secretCount = (secrets: string[]): string | null =>
  secrets.length ? `${MASK} (${secrets.length} secret${secrets.length > 1 ? 's' : ''})` : null;

const SECTIONS: SectionSpec[] = [
  {
    id: 'temporal',
    title: 'Temporal',
    readBy: ['worker', 'intake'],
    describe: ({ env }) => {
      const temporal = temporalEndpointConfig(env);
      return {
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_NAMESPACE: temporal.namespace,
        KS_ONBOARD_TASK_QUEUE: temporal.taskQueue,
        KS_ONBOARD_WORKFLOW_ID_PREFIX: temporal.workflowIdPrefix || null,
        TEMPORAL_UI_URL: temporalUiConfigured(env) ? (temporalUiUrl(env) ?? null) : null,
      };
    },
  },
  {
    id: 'temporal-connection',
    title: 'Temporal connection security (TLS, mTLS, API key)',
    readBy: ['worker', 'intake'],
    describe: ({ env }) => describeConnection(temporalConnectionConfig(env)),
  },
  {
    id: 'kubesphere',
    title: "KubeSphere and the worker's account",
    readBy: ['worker'],
    describe: ({ env }) => {
      const ks = kubesphereConfig(env);
      const login = ks.login;
      return {
        KUBESPHERE_HOST: ks.baseUrl,
        KUBESPHERE_USERNAME: ks.username ?? null,
        KUBESPHERE_PASSWORD: 'password' in login ? MASK : null,
        KUBESPHERE_PASSWORD_FILE: 'passwordFile' in login ? login.passwordFile : null,
        KUBESPHERE_TOKEN: 'token' in login ? maskedLength(login.token) : null,
        KUBESPHERE_CLIENT_ID: 'clientId' in login ? login.clientId : null,
        KUBESPHERE_CLIENT_SECRET: 'clientSecret' in login ? MASK : null,
      };
    },
  },
  {
    id: 'worker',
    title: 'Worker',
    readBy: ['worker'],
    describe: ({ env }) => {
      const worker = workerConfig(env);
      // read and checked as the worker does at start: every file, each problem told
      const problems = worker.sealPrivateKeys.flatMap((path) => {
        try {
          readPrivateKeyFile(path);
          return [];
        } catch (error) {
          if (error instanceof ConfigError) return [error.message];
          throw error;
        }
      });
      if (problems.length) throw new ConfigError(`bad configuration: ${problems.join('; ')}`);
      return {
        KS_ONBOARD_MAX_CONCURRENT_ACTIVITIES: worker.maxConcurrentActivities,
        KS_ONBOARD_ACTIVITIES_PER_SECOND: worker.activitiesPerSecond,
        KS_ONBOARD_KUBESPHERE_REQUESTS_PER_SECOND: worker.kubesphereRequestsPerSecond,
        KS_ONBOARD_SHUTDOWN_GRACE: worker.shutdownGraceTime,
        KS_ONBOARD_SEAL_PRIVATE_KEYS: worker.sealPrivateKeys,
        KS_ONBOARD_HEALTH_PORT: worker.healthPort ?? null,
        KS_ONBOARD_WORKFLOW_BUNDLE: worker.workflowBundle ?? null,
      };
    },
  },
  {
    id: 'policy',
    title: "The worker's policy",
    readBy: ['worker'],
    describe: ({ env }) => {
      const policy = workerPolicyConfig(env);
      return {
        KS_ONBOARD_ELEVATED_ROLES: policy.elevatedRoles,
        KS_ONBOARD_APPROVAL_TIMEOUT: duration(policy.approvalTimeoutMs),
        KS_ONBOARD_PROTECTED_WORKSPACES: policy.protectedWorkspaces,
      };
    },
  },
  {
    id: 'codec-keys',
    title: 'Payload encryption',
    readBy: ['worker', 'intake', 'codec-server'],
    describe: ({ set, env }) => {
      const ring = requiredCodecKeyRing(env);
      const ids = ring.ids.map((id) => `${id}:${MASK}`);
      return {
        KS_ONBOARD_CODEC_KEYS: set.has('KS_ONBOARD_CODEC_KEYS')
          ? ids
          : [...ids, `(from ${pathsConfig(env).devCodecKeys}, made by ks-onboard dev)`],
      };
    },
  },
  {
    id: 'hr',
    title: 'HR deliveries (verified by the worker, answered by the intake)',
    readBy: ['worker', 'intake'],
    describe: ({ env }): Record<string, Value> => {
      const hr = hrConfig(env);
      if (!hr) return { KS_ONBOARD_PLACEMENT: null, KS_ONBOARD_WEBHOOK_SECRETS: null };
      const { secrets, api } = hr.vendors;
      return {
        KS_ONBOARD_PLACEMENT: hr.mappingFile ?? null,
        KS_ONBOARD_WEBHOOK_SECRETS: secretCount(secrets.generic),
        KS_ONBOARD_BAMBOOHR_SECRETS: secretCount(secrets.bamboohr),
        KS_ONBOARD_HIBOB_SECRETS: secretCount(secrets.hibob),
        KS_ONBOARD_HR_TIME_ZONE: hr.timeZone,
        KS_ONBOARD_HR_LEAD_TIME: duration(hr.leadTimeMs),
        KS_ONBOARD_BAMBOOHR_API_URL: api.bamboohr?.baseUrl ?? null,
        KS_ONBOARD_BAMBOOHR_API_KEY: masked(api.bamboohr?.apiKey),
        KS_ONBOARD_HIBOB_API_URL: api.hibob?.baseUrl ?? null,
        KS_ONBOARD_HIBOB_SERVICE_USER: api.hibob ? `${api.hibob.serviceUserId}:${MASK}` : null,
      };
    },
  },
  {
    id: 'intake',
    title: 'HR intake',
    readBy: ['intake'],
    describe: ({ env }) => {
      const intake = intakeConfig(env);
      return {
        KS_ONBOARD_INTAKE_PORT: intake.port,
        KS_ONBOARD_INTAKE_HOST: intake.host,
        KS_ONBOARD_INTAKE_TOKEN: maskedLength(intake.token),
        KS_ONBOARD_INTAKE_PUBLIC_URL: intake.publicUrl ?? null,
      };
    },
  },
  {
    id: 'notify',
    title: 'Notifications',
    readBy: ['worker'],
    describe: ({ set, env, derived }) => {
      const notify = notifyConfig(env);
      const secretFile = set.has('KS_ONBOARD_NOTIFY_SECRET_FILE');
      if (notify && secretFile) derived.add('KS_ONBOARD_NOTIFY_SECRET');
      // a chat's webhook URL carries its token in the path: the origin only
      return {
        KS_ONBOARD_NOTIFY_URL: notify ? `${new URL(notify.url).origin}/${MASK}` : null,
        KS_ONBOARD_NOTIFY_SECRET: notify ? (secretFile ? `${MASK} (from KS_ONBOARD_NOTIFY_SECRET_FILE)` : MASK) : null,
        // the file's path and the flag as given (parsed above): shown when set
        ...(secretFile ? { KS_ONBOARD_NOTIFY_SECRET_FILE: env.KS_ONBOARD_NOTIFY_SECRET_FILE!.trim() } : {}),
        ...(set.has('KS_ONBOARD_NOTIFY_ALLOW_HTTP')
          ? { KS_ONBOARD_NOTIFY_ALLOW_HTTP: env.KS_ONBOARD_NOTIFY_ALLOW_HTTP!.trim() }
          : {}),
        KS_ONBOARD_NOTIFY_EVENTS: notify ? notify.events : null,
        KS_ONBOARD_NOTIFY_EXPIRY_WARNING: notify ? duration(notify.expiryWarningMs) : null,
      };
    },
  },
  {
    id: 'codec-server',
    title: 'Codec server',
    readBy: ['codec-server'],
    describe: ({ env }) => {
      const codec = codecConfig(env);
      return {
        KS_ONBOARD_CODEC_PORT: codec.port,
        KS_ONBOARD_CODEC_HOST: codec.host,
        KS_ONBOARD_CODEC_CORS_ORIGIN: codec.corsOrigin,
        KS_ONBOARD_CODEC_AUTH: codec.auth,
        KS_ONBOARD_CODEC_TOKEN: maskedLength(codec.token),
        KS_ONBOARD_CODEC_ALLOWED_USERS: codec.allowedUsers ?? null,
        ...(codec.auth === 'kubesphere' ? { KUBESPHERE_HOST: kubesphereHost(env) } : {}),
      };
    },
  },
  {
    id: 'observability',
    title: 'Audit trail, metrics, tracing',
    readBy: ['worker', 'intake'],
    describe: ({ set, env, derived }) => {
      const { audit, sdkMetricsAddress, tracing } = observabilityConfig(env);
      // an OTLP endpoint set the standard way switches tracing on by itself
      const by = set.has('KS_ONBOARD_TRACING')
        ? undefined
        : ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'].find((name) => set.has(name));
      if (tracing && by) derived.add('KS_ONBOARD_TRACING');
      return {
        KS_ONBOARD_AUDIT: audit.kind === 'file' ? `file:${audit.path}` : audit.kind,
        KS_ONBOARD_SDK_METRICS_ADDRESS: sdkMetricsAddress ?? null,
        KS_ONBOARD_TRACING: tracing ? `on: ${tracing.endpoint}${by ? ` (set by ${by})` : ''}` : 'off',
      };
    },
  },
  {
    id: 'logging',
    title: 'Logging and local files',
    readBy: ['worker', 'intake', 'codec-server'],
    describe: ({ env }) => ({ LOG_LEVEL: logLevel(env) ?? 'info', KS_ONBOARD_DATA_DIR: pathsConfig(env).dataDir }),
  },
];

function describeConnection(settings: TemporalConnectionSettings): Record<string, Value> {
  const tls = settings.tls;
  const values: Record<string, Value> = {
    TEMPORAL_TLS: tls ? `on (${describeConnectionSecurity(settings)})` : 'off',
    TEMPORAL_TLS_CA: tls && tls.ca ? tls.ca.path : null,
    TEMPORAL_TLS_CERT: tls && tls.client ? `${tls.client.cert.path} [${tls.client.cert.summary ?? ''}]` : null,
    TEMPORAL_TLS_KEY: tls && tls.client ? tls.client.key.path : null,
    TEMPORAL_TLS_SERVER_NAME: tls && tls.serverName ? tls.serverName : null,
    TEMPORAL_API_KEY: settings.apiKey?.variable === 'TEMPORAL_API_KEY' ? maskedLength(settings.apiKey.key) : null,
    TEMPORAL_API_KEY_FILE:
      settings.apiKey?.variable === 'TEMPORAL_API_KEY_FILE'
        ? `${settings.apiKey.path} (${MASK}, ${settings.apiKey.key.length} characters)`
        : null,
  };
  // the temporal CLI's names, when those were given
  if (tls && tls.ca && tls.ca.variable !== 'TEMPORAL_TLS_CA') values[tls.ca.variable] = tls.ca.path;
  if (tls && tls.client && tls.client.cert.variable !== 'TEMPORAL_TLS_CERT') {
    values[tls.client.cert.variable] = tls.client.cert.path;
    values[tls.client.key.variable] = tls.client.key.path;
  }
  return values;
}

interface Problem {
  variable?: string;
  message: string;
}

/**
 * `bad configuration: A: x; B=y: z; C (file): w` → one problem per variable (a message's own "; " stays in it). A
 * file's problem names the file after its variable, e.g. `KS_ONBOARD_PLACEMENT (/etc/placement.yaml): line 4: …`.
 */
function problemsOf(error: ConfigError): Problem[] {
  const text = error.message.replace(/^bad configuration: /, '');
  return text.split(/; (?=[A-Z][A-Z0-9_]+(?:[:=]| \())/).map((message) => {
    const variable = /^([A-Z][A-Z0-9_]+)(?:[:=]| \()/.exec(message)?.[1];
    return variable ? { variable, message } : { message };
  });
}

/**
 * A section's values, or every problem in it: a parser stops at its first failing step, so the section is parsed
 * again without the variables already reported, until nothing new turns up. A problem that names a variable left
 * out is a consequence of leaving it out, not news.
 */
function describeSection(spec: SectionSpec, set: Set<string>, env: NodeJS.ProcessEnv) {
  const problems: Problem[] = [];
  const left = new Set<string>();
  const derived = new Set<string>();
  for (;;) {
    const without = Object.fromEntries(Object.entries(env).filter(([name]) => !left.has(name)));
    try {
      const values = spec.describe({ set, env: without, derived });
      return problems.length ? { problems } : { values, derived, problems };
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const news = problemsOf(error).filter(
        (problem) => ![...left].some((name) => problem.variable === name || problem.message.includes(name)),
      );
      problems.push(...news);
      const next = news.flatMap((problem) => problem.variable ?? []);
      if (!news.length || next.length < news.length) return { problems };
      for (const name of next) left.add(name);
    }
  }
}

const GRPC_NOT_FOUND = 5;
const GRPC_REFUSED = new Set([7, 16]);

function grpcCode(error: unknown): number | undefined {
  for (let e: unknown = error, depth = 0; e != null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

async function checkTemporal(config: TemporalConfig, log: (check: KindedCheck) => void): Promise<void> {
  let client: Client;
  try {
    client = await createTemporalClient(config, undefined, { connectTimeoutMs: 5_000 });
  } catch (error) {
    // A closed port and a TLS mismatch both end in the client's "Failed to connect before the deadline": tell them apart.
    const closed = await tcpUnreachable(config.address);
    if (closed) {
      log({
        name: 'temporal:connect',
        ok: false,
        kind: 'connectivity',
        variable: 'TEMPORAL_ADDRESS',
        message: `nothing answers at TEMPORAL_ADDRESS=${config.address} (${closed})`,
      });
      for (const name of ['temporal:namespace', 'temporal:search-attributes'])
        log({
          name,
          ok: false,
          skipped: true,
          kind: 'connectivity',
          message: 'not checked: no connection to Temporal',
        });
      return;
    }
    const refused = GRPC_REFUSED.has(grpcCode(error) ?? -1);
    const credential =
      config.connection?.apiKey?.variable ?? (config.connection?.tls ? 'TEMPORAL_TLS_CERT' : undefined);
    log({
      name: 'temporal:connect',
      ok: false,
      kind: refused ? 'config' : 'connectivity',
      variable: refused && credential ? credential : 'TEMPORAL_ADDRESS',
      message: `cannot reach Temporal at ${config.address}: ${(error as Error).message}`,
    });
    for (const name of ['temporal:namespace', 'temporal:search-attributes'])
      log({ name, ok: false, skipped: true, kind: 'connectivity', message: 'not checked: no connection to Temporal' });
    return;
  }
  try {
    log({
      name: 'temporal:connect',
      ok: true,
      kind: 'connectivity',
      message: `connected to ${config.address}: ${describeConnectionSecurity(config.connection)}`,
    });
    try {
      const described = await client.workflowService.describeNamespace({ namespace: config.namespace });
      const retention = Number(described.config?.workflowExecutionRetentionTtl?.seconds ?? 0);
      log({
        name: 'temporal:namespace',
        ok: true,
        kind: 'connectivity',
        message: `namespace ${config.namespace}${retention ? ` keeps closed runs for ${duration(retention * 1000)}` : ''}`,
      });
    } catch (error) {
      const notFound = grpcCode(error) === GRPC_NOT_FOUND;
      log({
        name: 'temporal:namespace',
        ok: false,
        kind: notFound ? 'config' : 'connectivity',
        variable: 'TEMPORAL_NAMESPACE',
        message: notFound
          ? `namespace ${config.namespace} does not exist at ${config.address}`
          : `cannot describe namespace ${config.namespace}: ${(error as Error).message}`,
      });
      log({
        name: 'temporal:search-attributes',
        ok: false,
        skipped: true,
        kind: 'connectivity',
        message: 'not checked: no namespace',
      });
      return;
    }
    try {
      const inspection = await inspectSearchAttributes(client.connection, config.namespace);
      const { missing, wrongType } = inspection;
      if (wrongType.length)
        log({
          name: 'temporal:search-attributes',
          ok: false,
          kind: 'config',
          variable: 'TEMPORAL_NAMESPACE',
          message: `namespace ${config.namespace} has ${wrongType.map((a) => `${a.name} as ${a.registeredAs}, not ${a.type}`).join(', ')}: an attribute cannot change its type (remove it, or use another namespace)`,
        });
      else if (!missing.length)
        log({ name: 'temporal:search-attributes', ok: true, kind: 'connectivity', message: 'all six present' });
      else if (inspection.listedBy === 'operator') {
        // SQL visibility refuses what exceeds its slots per namespace: say so now rather than at the worker's start
        const store = (await client.workflowService.getClusterInfo({})).visibilityStore ?? '';
        const shortage = /postgres|mysql|sqlite/i.test(store) ? sqlSlotShortage(inspection) : undefined;
        const names = missing.map((a) => `${a.name} (${a.type})`).join(', ');
        log(
          shortage
            ? {
                name: 'temporal:search-attributes',
                ok: false,
                kind: 'config',
                variable: 'TEMPORAL_NAMESPACE',
                message: `namespace ${config.namespace} lacks ${names}, and the worker cannot register them: ${shortage} (SQL visibility, ${store}); remove unused attributes (temporal operator search-attribute remove) or use another namespace`,
              }
            : {
                name: 'temporal:search-attributes',
                ok: true,
                kind: 'connectivity',
                message: `missing ${names}: the worker registers them at start (this identity may use the operator service)`,
              },
        );
      } else
        log({
          name: 'temporal:search-attributes',
          ok: false,
          kind: 'config',
          variable: 'TEMPORAL_NAMESPACE',
          message: `namespace ${config.namespace} lacks ${missing.map((a) => `${a.name} (${a.type})`).join(', ')} and the worker may not register them (Temporal Cloud): ${howToAddSearchAttributes(config.namespace, missing)}`,
        });
    } catch (error) {
      log({
        name: 'temporal:search-attributes',
        ok: false,
        kind: 'connectivity',
        variable: 'TEMPORAL_NAMESPACE',
        message: `cannot list the search attributes of ${config.namespace}: ${(error as Error).message}`,
      });
    }
  } finally {
    await client.connection.close();
  }
}

/** Why a TCP connection to host:port cannot be opened (e.g. ECONNREFUSED), or undefined when it can. */
function tcpUnreachable(address: string): Promise<string | undefined> {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  const host = address.slice(0, address.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 5_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('no answer within 5s');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** Any HTTP answer from KubeSphere's OAuth endpoint (401 without a token) means it is there; nothing is sent. */
async function reachable(baseUrl: string): Promise<string | undefined> {
  try {
    await fetch(new URL('/oauth/userinfo', baseUrl), { signal: AbortSignal.timeout(10_000) });
    return undefined;
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? (error as Error).message;
  }
}

async function checkKubeSphere(config: KubeSphereConfig, log: (check: KindedCheck) => void): Promise<void> {
  const unreachable = await reachable(config.baseUrl);
  if (unreachable) {
    log({
      name: 'kubesphere:reach',
      ok: false,
      kind: 'connectivity',
      variable: 'KUBESPHERE_HOST',
      message: `KubeSphere at ${config.baseUrl} does not answer (${unreachable})`,
    });
    log({
      name: 'kubesphere:login',
      ok: false,
      skipped: true,
      kind: 'connectivity',
      message: 'not tried: KubeSphere does not answer',
    });
    return;
  }
  log({ name: 'kubesphere:reach', ok: true, kind: 'connectivity', message: `KubeSphere answers at ${config.baseUrl}` });
  const login = config.login;
  let token: string;
  let username = config.username;
  if ('token' in login) {
    token = login.token;
    const client = new KubeSphereClient({ baseUrl: config.baseUrl, credentials: { token } });
    try {
      username = (await client.whoAmI(token)).username;
    } catch (error) {
      const refused = isKubeSphereError(error, 'KS_UNAUTHORIZED');
      log({
        name: 'kubesphere:login',
        ok: false,
        kind: refused ? 'config' : 'connectivity',
        variable: refused ? 'KUBESPHERE_TOKEN' : 'KUBESPHERE_HOST',
        message: refused
          ? `KubeSphere at ${config.baseUrl} does not accept the token: ${(error as Error).message}`
          : `cannot ask KubeSphere whose token it is: ${(error as Error).message}`,
      });
      return;
    } finally {
      await client.close();
    }
  } else {
    const passwordVariable = 'passwordFile' in login ? 'KUBESPHERE_PASSWORD_FILE' : 'KUBESPHERE_PASSWORD';
    let password: string;
    try {
      password =
        'password' in login
          ? login.password
          : readSecretFile(login.passwordFile, 'KUBESPHERE_PASSWORD_FILE', 'a file holding the password');
    } catch (error) {
      log({
        name: 'kubesphere:login',
        ok: false,
        kind: 'config',
        variable: passwordVariable,
        message: (error as Error).message,
      });
      return;
    }
    try {
      // exactly one POST /oauth/token, never retried: each refusal counts towards KubeSphere's lockout
      token = (await loginOnce({ baseUrl: config.baseUrl, ...login, password })).accessToken;
    } catch (error) {
      const refused = isKubeSphereError(error, 'KS_LOGIN_FAILED');
      const locked = isKubeSphereError(error, 'KS_LOCKED_OUT');
      log({
        name: 'kubesphere:login',
        ok: false,
        kind: refused || locked ? 'config' : 'connectivity',
        variable: locked ? 'KUBESPHERE_USERNAME' : refused ? passwordVariable : 'KUBESPHERE_HOST',
        message:
          refused || locked
            ? `KubeSphere at ${config.baseUrl} refused the login of ${login.username} (KUBESPHERE_USERNAME): ${(error as Error).message}; tried once and not again, since KubeSphere locks an account after repeated failures`
            : `cannot log in to KubeSphere at ${config.baseUrl}: ${(error as Error).message}`,
      });
      return;
    }
  }
  // read-only, with that token: the account exists under that name (the worker protects it by name)
  const client = new KubeSphereClient({ baseUrl: config.baseUrl, credentials: { token } });
  try {
    const user = await client.getUser(username!);
    const role = user.metadata.annotations?.['iam.kubesphere.io/globalrole'];
    log({
      name: 'kubesphere:login',
      ok: true,
      kind: 'connectivity',
      message: `logged in once as ${username}${role ? ` (global role ${role})` : ''}`,
    });
  } catch (error) {
    const notFound = isKubeSphereError(error, 'KS_NOT_FOUND');
    log({
      name: 'kubesphere:login',
      ok: false,
      kind: notFound ? 'config' : 'connectivity',
      variable: notFound ? 'KUBESPHERE_USERNAME' : 'KUBESPHERE_HOST',
      message: notFound
        ? `KUBESPHERE_USERNAME=${username}: KubeSphere has no user of that name; give the account's username, not its email`
        : `logged in, but cannot read the account ${username}: ${(error as Error).message}`,
    });
  } finally {
    await client.close();
  }
}

function parseProcesses(raw: string): Process[] {
  const items = raw.split(',').map((item) => item.trim());
  if (items.length === 1 && items[0] === 'all') return [...PROCESSES];
  const unknown = items.filter((item) => !(PROCESSES as readonly string[]).includes(item));
  if (unknown.length || !items.length)
    throw new InvalidArgumentError(`expected worker, intake, codec-server (comma-separated) or all, got "${raw}"`);
  return [...new Set(items as Process[])];
}

export async function configCheck(
  processes: Process[],
): Promise<{ config: Record<string, Section>; checks: KindedCheck[] }> {
  // one copy of the environment, handed to config.ts's parsers; a section re-parses it without what it reported
  const env = environmentSnapshot();
  const set = setVariables(env);
  const checks: KindedCheck[] = [];
  const config: Record<string, Section> = {};
  const wanted = (readBy: Process[]) => readBy.some((p) => processes.includes(p));
  for (const spec of SECTIONS) {
    const section: Section = { title: spec.title, readBy: spec.readBy };
    const described = describeSection(spec, set, env);
    if (described.values) {
      const { values, derived } = described;
      section.values = values;
      section.defaults = Object.keys(values).filter((name) => !set.has(name) && !derived.has(name));
      if (wanted(spec.readBy)) checks.push({ name: `config:${spec.id}`, ok: true, kind: 'config', message: 'ok' });
    } else {
      section.error = `bad configuration: ${described.problems.map((problem) => problem.message).join('; ')}`;
      // the same problem met by two sections (the intake's mapping is also the worker's) is told once
      if (wanted(spec.readBy))
        for (const problem of described.problems)
          if (!checks.some((c) => !c.ok && c.message === problem.message))
            checks.push({ name: `config:${spec.id}`, ok: false, kind: 'config', ...problem });
    }
    config[spec.id] = section;
  }
  const ok = (id: string) => config[id] && !config[id].error;
  const log = (check: KindedCheck) => checks.push(check);
  if (wanted(['worker', 'intake'])) {
    if (ok('temporal') && ok('temporal-connection'))
      await checkTemporal({ ...temporalEndpointConfig(env), connection: temporalConnectionConfig(env) }, log);
    else
      log({
        name: 'temporal:connect',
        ok: false,
        skipped: true,
        kind: 'connectivity',
        message: 'not tried: fix the Temporal configuration first',
      });
  }
  if (processes.includes('worker')) {
    if (ok('kubesphere')) await checkKubeSphere(kubesphereConfig(env), log);
    else
      log({
        name: 'kubesphere:login',
        ok: false,
        skipped: true,
        kind: 'connectivity',
        message: 'not tried: fix the KubeSphere configuration first',
      });
  } else if (
    processes.includes('codec-server') &&
    ok('codec-server') &&
    config['codec-server']?.values?.KUBESPHERE_HOST
  ) {
    const host = String(config['codec-server'].values.KUBESPHERE_HOST);
    const unreachable = await reachable(host);
    log({
      name: 'kubesphere:reach',
      ok: !unreachable,
      kind: 'connectivity',
      ...(unreachable ? { variable: 'KUBESPHERE_HOST' } : {}),
      message: unreachable ? `KubeSphere at ${host} does not answer (${unreachable})` : `KubeSphere answers at ${host}`,
    });
  }
  return { config, checks };
}

/** 2 for a configuration problem, else 1 for a failed connection, else 0 (skipped checks follow another problem). */
export function exitCodeOf(checks: KindedCheck[]): number {
  const failed = checks.filter((c) => !c.ok && !c.skipped);
  if (failed.some((c) => c.kind === 'config')) return 2;
  return failed.length ? 1 : 0;
}

function formatValue(value: Value): string {
  if (value === null) return '-';
  if (Array.isArray(value)) return value.length ? value.join(', ') : '(none)';
  return String(value);
}

function formatHuman(
  processes: Process[],
  config: Record<string, Section>,
  checks: KindedCheck[],
  code: number,
): string {
  const lines = [`ks-onboard configuration of this environment, checked for: ${processes.join(', ')} (secrets masked)`];
  for (const section of Object.values(config)) {
    const needed = section.readBy.some((p) => processes.includes(p));
    lines.push('', `${section.title}  [${section.readBy.join(', ')}]${needed ? '' : ' (not checked here)'}`);
    if (section.error) lines.push(`  ${needed ? 'ERROR' : 'not usable'}: ${section.error}`);
    for (const [name, value] of Object.entries(section.values ?? {}))
      lines.push(
        `  ${name.padEnd(38)} ${formatValue(value)}${section.defaults?.includes(name) && value !== null ? '  (default)' : ''}`,
      );
  }
  lines.push('', 'Checks');
  for (const check of checks) {
    const mark = check.ok ? 'ok  ' : check.skipped ? 'skip' : 'FAIL';
    lines.push(
      `  ${mark}  ${check.name}: ${check.message}${check.variable && !check.ok ? `  [${check.variable}]` : ''}`,
    );
  }
  const failed = checks.filter((c) => !c.ok && !c.skipped);
  const inConfig = failed.filter((c) => c.kind === 'config').length;
  lines.push(
    '',
    failed.length
      ? `${failed.length} problem${failed.length > 1 ? 's' : ''}: ${inConfig} in the configuration, ${failed.length - inConfig} connecting (exit ${code})`
      : 'all good',
  );
  return lines.map(escapeControl).join('\n');
}

export function registerConfigCheck(program: Command): void {
  const config = program.command('config').description('the configuration of this environment');
  config
    .command('check')
    .description(
      'print the effective configuration (secrets masked) and check Temporal and KubeSphere (one login, never retried)',
    )
    .option(
      '--for <processes>',
      'whose configuration: worker, intake, codec-server (comma-separated) or all',
      parseProcesses,
      ['worker'] as Process[],
    )
    .option('--json', 'one JSON object: {config, checks: [{name, ok, message, variable?}]}')
    .addHelpText(
      'after',
      `
Reads the same variables, through the same parsers, as the processes named by --for (default: worker); see
docs/configuration.md. Exit codes: 0 all good; 2 a configuration problem (a bad or missing value, a refused login or
API key, an unknown namespace or account, search attributes the worker cannot register); 1 a connection failed
(Temporal or KubeSphere unreachable, a TLS handshake).`,
    )
    .action(async (flags: { for: Process[]; json?: boolean }) => {
      const { config: sections, checks } = await configCheck(flags.for);
      const code = exitCodeOf(checks);
      if (flags.json) {
        const plain = checks.map(({ kind: _kind, ...check }) => check);
        process.stdout.write(`${JSON.stringify({ config: sections, checks: plain })}\n`);
      } else process.stdout.write(`${formatHuman(flags.for, sections, checks, code)}\n`);
      process.exitCode = code;
    });
}
