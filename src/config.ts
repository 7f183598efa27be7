import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { APPROVAL_TIMEOUT_BOUNDS, DEFAULT_APPROVAL_TIMEOUT, parseDuration } from './policy/duration.js';
import { DEFAULT_ELEVATED_ROLES, elevatedRolesFrom, MAX_PROTECTED_WORKSPACES } from './policy/worker-policy.js';
import { parseHrConfig, parseIntakeConfig, type HrConfig, type IntakeConfig } from './intake/config.js';
import { hrVendorConfig } from './intake/vendors/config.js';
import { parseCodecConfig, parseCodecKeyRing, type CodecConfig } from './codec/codec-config.js';
import { parseKeyRing, type KeyRing } from './codec/payload-codec.js';
import { parseNotifyConfig, type NotifyConfig } from './notify/config.js';
import { parseAuditConfig } from './audit/config.js';
import { parseSdkMetricsAddress } from './metrics/config.js';
import { parseTracingConfig } from './tracing/config.js';
import { parseTemporalConnection, type TemporalConnectionSettings } from './temporal/connection-config.js';

/**
 * Configuration from the environment, parsed once per concern with zod. A bad or missing value fails
 * naming the variable. No other module reads process.env.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const splitList = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
const list = z.string().transform(splitList).optional();

const temporalSchema = z.object({
  /** the frontend's host:port (hostname, IPv4 or [IPv6]); no scheme, no path: checked before any connection attempt */
  TEMPORAL_ADDRESS: z
    .string()
    .regex(
      /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?):(?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3})$/,
      {
        error: (issue) =>
          `must be host:port, e.g. localhost:7233 or temporal.example.com:7233 (no scheme, no spaces; got ${JSON.stringify(issue.input)})`,
      },
    )
    .default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  KS_ONBOARD_TASK_QUEUE: z.string().min(1).default('ks-onboard'),
  /** for several deployments in one namespace: every workflow id starts with it (workers refuse others) */
  KS_ONBOARD_WORKFLOW_ID_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._/-]{0,64}$/, 'must be at most 64 letters, digits, ".", "_", "/" or "-"')
    .default(''),
});

/** A URL with a user or password in it would be printed (config check, logs) as it is: refused at start. */
function withoutCredentials(url: string): boolean {
  try {
    const parsed = new URL(url);
    return !parsed.username && !parsed.password;
  } catch {
    return true; // not a URL: the URL check says so
  }
}
const CREDENTIALS_IN_URL = 'must not carry a user or password: give them in their own variables';

const kubesphereSchema = z
  .object({
    KUBESPHERE_HOST: z
      .url({
        protocol: /^https?$/,
        error: (issue) =>
          issue.input === undefined || issue.input === ''
            ? "not set: give KubeSphere's address, e.g. http://ks-apiserver.kubesphere-system.svc"
            : 'must be an http(s) URL, e.g. http://ks-apiserver.kubesphere-system.svc',
      })
      .refine(withoutCredentials, CREDENTIALS_IN_URL),
    KUBESPHERE_USERNAME: z.string().min(1).optional(),
    KUBESPHERE_PASSWORD: z.string().min(1).optional(),
    /** a file holding the password, read at each login: a rotated password is picked up without a restart */
    KUBESPHERE_PASSWORD_FILE: z.string().min(1).optional(),
    KUBESPHERE_TOKEN: z.string().min(1).optional(),
    KUBESPHERE_CLIENT_ID: z.string().min(1).default('kubesphere'),
    KUBESPHERE_CLIENT_SECRET: z.string().min(1).default('kubesphere'),
  })
  .superRefine((env, ctx) => {
    const password = env.KUBESPHERE_PASSWORD || env.KUBESPHERE_PASSWORD_FILE;
    if (!env.KUBESPHERE_TOKEN && !(env.KUBESPHERE_USERNAME && password)) {
      ctx.addIssue({
        code: 'custom',
        path: ['KUBESPHERE_PASSWORD'],
        message: 'set KUBESPHERE_USERNAME and KUBESPHERE_PASSWORD (or KUBESPHERE_PASSWORD_FILE), or KUBESPHERE_TOKEN',
      });
    }
    if (env.KUBESPHERE_PASSWORD && env.KUBESPHERE_PASSWORD_FILE) {
      ctx.addIssue({
        code: 'custom',
        path: ['KUBESPHERE_PASSWORD_FILE'],
        message: 'set KUBESPHERE_PASSWORD or KUBESPHERE_PASSWORD_FILE, not both',
      });
    }
  });

const workerSchema = z.object({
  KS_ONBOARD_MAX_CONCURRENT_ACTIVITIES: positiveInt(20),
  /** task-queue-wide, enforced by the server: adding workers never raises the load on KubeSphere */
  KS_ONBOARD_ACTIVITIES_PER_SECOND: z.coerce.number().positive().default(50),
  /** the deployment's, every request whatever its path (local activities, which the task queue's cap does not see): shared by the workers */
  KS_ONBOARD_KUBESPHERE_REQUESTS_PER_SECOND: z.coerce.number().positive().default(100),
  KS_ONBOARD_SHUTDOWN_GRACE: z
    .string()
    .regex(/^\d+(ms|s|m)$/, 'must look like 30s')
    .default('30s'),
  KS_ONBOARD_SEAL_PRIVATE_KEYS: list,
  /** where /healthz and /readyz answer (off when unset) */
  KS_ONBOARD_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** a workflow bundle built ahead (`ks-onboard bundle`, the image build): loaded instead of bundling at start */
  KS_ONBOARD_WORKFLOW_BUNDLE: z
    .string()
    .min(1)
    .refine((path) => existsSync(path), 'no such file: build it with ks-onboard bundle --out <file>')
    .optional(),
});

/** What the worker decides, whoever starts a workflow (src/policy/worker-policy.ts). */
const policySchema = z.object({
  KS_ONBOARD_ELEVATED_ROLES: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return [...DEFAULT_ELEVATED_ROLES];
      const checked = elevatedRolesFrom(splitList(value));
      if (!checked.ok) {
        ctx.addIssue({ code: 'custom', message: checked.reason });
        return z.NEVER;
      }
      return checked.roles;
    }),
  KS_ONBOARD_APPROVAL_TIMEOUT: z
    .string()
    .default(DEFAULT_APPROVAL_TIMEOUT)
    .transform((value, ctx) => {
      const parsed = parseDuration(value, APPROVAL_TIMEOUT_BOUNDS);
      if (!parsed.ok) {
        ctx.addIssue({ code: 'custom', message: parsed.reason });
        return z.NEVER;
      }
      return parsed.ms;
    }),
  KS_ONBOARD_PROTECTED_WORKSPACES: list.refine((names) => !names || names.length <= MAX_PROTECTED_WORKSPACES, {
    message: `must list at most ${MAX_PROTECTED_WORKSPACES} workspaces`,
  }),
});

const sealKeySchema = z.object({ KS_ONBOARD_SEAL_PUBLIC_KEY: z.string().min(1).optional() });

const pathsSchema = z.object({
  KS_ONBOARD_DATA_DIR: z.string().min(1).default('.data'),
  KS_ONBOARD_CACHE_DIR: z.string().min(1).optional(),
  TEMPORAL_CLI: z.string().min(1).optional(),
  /** the time-skipping test server the tests use (installed by `ks-onboard setup`) */
  TEMPORAL_TEST_SERVER: z.string().min(1).optional(),
});

function parse<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${String(issue.path[0] ?? 'environment')}: ${issue.message}`);
  throw new ConfigError(`bad configuration: ${problems.join('; ')}`);
}

export function temporalConfig(env: NodeJS.ProcessEnv = process.env): TemporalConfig {
  return { ...temporalEndpointConfig(env), connection: temporalConnectionConfig(env) };
}

/** Where Temporal is and what we use of it, without reading the TLS files (`config check` reports both apart). */
export function temporalEndpointConfig(env: NodeJS.ProcessEnv = process.env): Omit<TemporalConfig, 'connection'> {
  const parsed = parse(temporalSchema, env);
  return {
    address: parsed.TEMPORAL_ADDRESS,
    namespace: parsed.TEMPORAL_NAMESPACE,
    taskQueue: parsed.KS_ONBOARD_TASK_QUEUE,
    workflowIdPrefix: parsed.KS_ONBOARD_WORKFLOW_ID_PREFIX,
  };
}
export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  workflowIdPrefix: string;
  /** TLS, mTLS, API key (temporalConnectionConfig); absent: plaintext, as to the embedded dev server */
  connection?: TemporalConnectionSettings;
}

/**
 * How Temporal connections are secured (src/temporal/connection-config.ts): TEMPORAL_TLS, TEMPORAL_TLS_CA,
 * TEMPORAL_TLS_CERT + TEMPORAL_TLS_KEY, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_API_KEY or TEMPORAL_API_KEY_FILE. The
 * files are read and checked now.
 */
export function temporalConnectionConfig(env: NodeJS.ProcessEnv = process.env): TemporalConnectionSettings {
  return parseTemporalConnection(env);
}

const webUiSchema = z.object({
  /** the Temporal Web UI, for links the CLI prints (e.g. https://temporal.example.com); no path after the host */
  TEMPORAL_UI_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. http://localhost:8233' })
    .refine(withoutCredentials, CREDENTIALS_IN_URL)
    .optional(),
});

/**
 * Where the Temporal Web UI answers, for links: TEMPORAL_UI_URL, else the dev server's UI beside a local
 * default address (`ks-onboard dev` serves it on :8233); undefined when it cannot be known.
 */
export function temporalUiUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = parse(webUiSchema, env).TEMPORAL_UI_URL;
  if (explicit) return explicit.replace(/\/+$/, '');
  // the address alone: a link needs no certificate files read
  const address = parse(temporalSchema, env).TEMPORAL_ADDRESS;
  const local = /^(localhost|127\.0\.0\.1):7233$/.exec(address);
  return local ? `http://${local[1]}:8233` : undefined;
}

/** Whether TEMPORAL_UI_URL names the Web UI (otherwise links guess it from a local TEMPORAL_ADDRESS). */
export function temporalUiConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return parse(webUiSchema, env).TEMPORAL_UI_URL !== undefined;
}

/**
 * KubeSphere and whose login to use: the worker's own account, or (for the CLI) the requester's or
 * approver's, from the same variables common KubeSphere scripts use.
 */
export function kubesphereConfig(env: NodeJS.ProcessEnv = process.env): KubeSphereConfig {
  const parsed = parse(kubesphereSchema, env);
  const client = { clientId: parsed.KUBESPHERE_CLIENT_ID, clientSecret: parsed.KUBESPHERE_CLIENT_SECRET };
  if (parsed.KUBESPHERE_TOKEN)
    return {
      baseUrl: parsed.KUBESPHERE_HOST,
      login: { token: parsed.KUBESPHERE_TOKEN },
      username: parsed.KUBESPHERE_USERNAME,
    };
  const username = parsed.KUBESPHERE_USERNAME!;
  const passwordFile = parsed.KUBESPHERE_PASSWORD_FILE;
  const login: Login = passwordFile
    ? { username, passwordFile, ...client }
    : { username, password: parsed.KUBESPHERE_PASSWORD!, ...client };
  return { baseUrl: parsed.KUBESPHERE_HOST, login, username };
}
export type Login =
  | { token: string }
  | { username: string; password: string; clientId: string; clientSecret: string }
  | { username: string; passwordFile: string; clientId: string; clientSecret: string };
export interface KubeSphereConfig {
  baseUrl: string;
  login: Login;
  /** the account we act as (recorded as kubesphere.io/creator); with a token, learnt from KubeSphere at start */
  username: string | undefined;
}

export function workerConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = parse(workerSchema, env);
  const paths = pathsConfig(env);
  return {
    maxConcurrentActivities: parsed.KS_ONBOARD_MAX_CONCURRENT_ACTIVITIES,
    activitiesPerSecond: parsed.KS_ONBOARD_ACTIVITIES_PER_SECOND,
    kubesphereRequestsPerSecond: parsed.KS_ONBOARD_KUBESPHERE_REQUESTS_PER_SECOND,
    shutdownGraceTime: parsed.KS_ONBOARD_SHUTDOWN_GRACE,
    sealPrivateKeys: parsed.KS_ONBOARD_SEAL_PRIVATE_KEYS ?? [paths.devKeys.private],
    healthPort: parsed.KS_ONBOARD_HEALTH_PORT,
    workflowBundle: parsed.KS_ONBOARD_WORKFLOW_BUNDLE,
  };
}

export function workerPolicyConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = parse(policySchema, env);
  return {
    elevatedRoles: parsed.KS_ONBOARD_ELEVATED_ROLES,
    approvalTimeoutMs: parsed.KS_ONBOARD_APPROVAL_TIMEOUT,
    protectedWorkspaces: parsed.KS_ONBOARD_PROTECTED_WORKSPACES ?? [],
  };
}

/** The workers' public key, with which the CLI seals passwords and proofs. */
export function sealPublicKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  return parse(sealKeySchema, env).KS_ONBOARD_SEAL_PUBLIC_KEY ?? pathsConfig(env).devKeys.public;
}

/** The names (never the values) of the variables this environment sets: `config check` marks the rest as defaults. */
export function setVariables(env: NodeJS.ProcessEnv = process.env): Set<string> {
  return new Set(Object.keys(env).filter((name) => env[name]?.trim()));
}

export function logLevel(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.LOG_LEVEL;
}

/** Where executables are searched, for the temporal CLI. */
export function searchPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.PATH;
}

export function pathsConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = parse(pathsSchema, env);
  const dataDir = resolve(parsed.KS_ONBOARD_DATA_DIR);
  return {
    dataDir,
    cacheDir: resolve(
      parsed.KS_ONBOARD_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ks-onboard'),
    ),
    temporalCli: parsed.TEMPORAL_CLI,
    temporalTestServer: parsed.TEMPORAL_TEST_SERVER,
    devKeys: { private: join(dataDir, 'keys', 'seal-private.pem'), public: join(dataDir, 'keys', 'seal-public.pem') },
    /** the payload key ring `dev` and `demo` make (KS_ONBOARD_CODEC_KEYS format) */
    devCodecKeys: join(dataDir, 'keys', 'codec-keys'),
  };
}

/** HR deliveries (src/intake/config.ts): undefined when none is configured. */
export function hrConfig(env: NodeJS.ProcessEnv = process.env): HrConfig | undefined {
  return parseHrConfig(env);
}

/** The HR intake service's settings (src/intake/config.ts). */
export function intakeConfig(env: NodeJS.ProcessEnv = process.env): IntakeConfig {
  return parseIntakeConfig(env);
}

/**
 * The worker's outbound notifications (src/notify/config.ts): undefined when KS_ONBOARD_NOTIFY_URL is unset. Links
 * to the run go to the Web UI `temporalUiUrl` knows.
 */
export function notifyConfig(env: NodeJS.ProcessEnv = process.env): NotifyConfig | undefined {
  const config = parseNotifyConfig(env);
  const webUiUrl = config && temporalUiUrl(env);
  return config && webUiUrl ? { ...config, webUiUrl } : config;
}

/** What `ks-onboard hire` signs with and where it delivers. */
export function hireSenderConfig(env: NodeJS.ProcessEnv = process.env): { secret?: string; port: number } {
  const intake = z
    .object({ KS_ONBOARD_INTAKE_PORT: z.coerce.number().int().min(1).max(65535).default(8787) })
    .safeParse(env);
  if (!intake.success) throw new ConfigError('bad configuration: KS_ONBOARD_INTAKE_PORT: must be a port number');
  const secret = hrVendorConfig(env).secrets.generic[0];
  return { port: intake.data.KS_ONBOARD_INTAKE_PORT, ...(secret ? { secret } : {}) };
}

/**
 * The payload key ring (`KS_ONBOARD_CODEC_KEYS`), else the one `dev` made under the data directory (so commands in
 * another shell read what the dev stack writes); undefined when neither exists.
 */
export function codecKeyRing(env: NodeJS.ProcessEnv = process.env): KeyRing | undefined {
  const configured = parseCodecKeyRing(env);
  if (configured) return configured;
  const devFile = pathsConfig(env).devCodecKeys;
  if (!existsSync(devFile)) return undefined;
  try {
    return parseKeyRing(readFileSync(devFile, 'utf8').trim());
  } catch (error) {
    throw new ConfigError(
      `${devFile}: not a key ring (${(error as Error).message}); remove it to have dev make a new one`,
    );
  }
}

/** A worker, the intake and the codec server never run without encryption: a missing key ring stops them. */
export function requiredCodecKeyRing(env: NodeJS.ProcessEnv = process.env): KeyRing {
  const ring = codecKeyRing(env);
  if (!ring)
    throw new ConfigError(
      'KS_ONBOARD_CODEC_KEYS: payloads are encrypted; set a key ring (`ks-onboard codec-key` prints a new key: key-id:base64, comma-separated, the first encrypts)',
    );
  return ring;
}

/** The codec server's settings (src/codec/codec-config.ts). */
export function codecConfig(env: NodeJS.ProcessEnv = process.env): CodecConfig {
  return parseCodecConfig(env);
}

/**
 * `stack prod-local`: a real KubeSphere and the worker's login when KUBESPHERE_HOST is set (as for `worker`), else
 * undefined (the emulator).
 */
export function prodLocalKubesphere(env: NodeJS.ProcessEnv = process.env): KubeSphereConfig | undefined {
  return env.KUBESPHERE_HOST ? kubesphereConfig(env) : undefined;
}

/** The environment `go install` runs in (`stack prod-local --install-only`): the caller's, passed through, not read. */
export function buildToolEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env };
}

/**
 * A copy of the environment as this process sees it, for `config check`: it parses each section from the copy (and
 * again without the variables it already reported) and names the variables that are set.
 */
export function environmentSnapshot(): NodeJS.ProcessEnv {
  return { ...process.env };
}

/** KubeSphere's address alone, for who asks it nothing but identities (the codec server). */
export function kubesphereHost(env: NodeJS.ProcessEnv = process.env): string {
  return parse(z.object({ KUBESPHERE_HOST: kubesphereSchema.shape.KUBESPHERE_HOST }), env).KUBESPHERE_HOST;
}

/**
 * The worker's and the intake's audit trail, SDK metrics endpoint and tracing (docs/observability.md):
 * KS_ONBOARD_AUDIT, KS_ONBOARD_SDK_METRICS_ADDRESS, KS_ONBOARD_TRACING and the standard OTEL_EXPORTER_OTLP_* variables.
 */
export function observabilityConfig(env: NodeJS.ProcessEnv = process.env) {
  return {
    audit: parseAuditConfig(env),
    sdkMetricsAddress: parseSdkMetricsAddress(env),
    tracing: parseTracingConfig(env),
  };
}
export type ObservabilityConfig = ReturnType<typeof observabilityConfig>;
