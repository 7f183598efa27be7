import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { Credentials } from './kubesphere/auth.js';

/**
 * Configuration from the environment, parsed once per concern with zod. A bad or missing value fails
 * naming the variable. No other module reads process.env.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const list = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  )
  .optional();

const temporalSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  KS_ONBOARD_TASK_QUEUE: z.string().min(1).default('ks-onboard'),
});

const kubesphereSchema = z
  .object({
    KUBESPHERE_HOST: z.url({
      protocol: /^https?$/,
      error: 'must be an http(s) URL, e.g. http://ks-apiserver.kubesphere-system.svc',
    }),
    KUBESPHERE_USERNAME: z.string().min(1).optional(),
    KUBESPHERE_PASSWORD: z.string().min(1).optional(),
    KUBESPHERE_TOKEN: z.string().min(1).optional(),
    KUBESPHERE_CLIENT_ID: z.string().min(1).default('kubesphere'),
    KUBESPHERE_CLIENT_SECRET: z.string().min(1).default('kubesphere'),
  })
  .superRefine((env, ctx) => {
    if (!env.KUBESPHERE_TOKEN && !(env.KUBESPHERE_USERNAME && env.KUBESPHERE_PASSWORD)) {
      ctx.addIssue({
        code: 'custom',
        path: ['KUBESPHERE_PASSWORD'],
        message: 'set KUBESPHERE_USERNAME and KUBESPHERE_PASSWORD, or KUBESPHERE_TOKEN',
      });
    }
  });

const workerSchema = z.object({
  KS_ONBOARD_MAX_CONCURRENT_ACTIVITIES: positiveInt(20),
  /** task-queue-wide, enforced by the server: adding workers never raises the load on KubeSphere */
  KS_ONBOARD_ACTIVITIES_PER_SECOND: z.coerce.number().positive().default(50),
  KS_ONBOARD_SHUTDOWN_GRACE: z
    .string()
    .regex(/^\d+(ms|s|m)$/, 'must look like 30s')
    .default('30s'),
  KS_ONBOARD_SEAL_PRIVATE_KEYS: list,
});

const policySchema = z.object({
  KS_ONBOARD_ELEVATED_ROLES: list,
  KS_ONBOARD_APPROVAL_TIMEOUT: z
    .string()
    .regex(/^\d+(ms|s|m|h|d)$/, 'must look like 90s, 15m, 72h or 7d')
    .optional(),
  KS_ONBOARD_SEAL_PUBLIC_KEY: z.string().min(1).optional(),
});

const pathsSchema = z.object({
  KS_ONBOARD_DATA_DIR: z.string().min(1).default('.data'),
  KS_ONBOARD_CACHE_DIR: z.string().min(1).optional(),
  TEMPORAL_CLI: z.string().min(1).optional(),
});

function parse<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${String(issue.path[0] ?? 'environment')}: ${issue.message}`);
  throw new ConfigError(`bad configuration: ${problems.join('; ')}`);
}

export function temporalConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = parse(temporalSchema, env);
  return {
    address: parsed.TEMPORAL_ADDRESS,
    namespace: parsed.TEMPORAL_NAMESPACE,
    taskQueue: parsed.KS_ONBOARD_TASK_QUEUE,
  };
}
export type TemporalConfig = ReturnType<typeof temporalConfig>;

export function kubesphereConfig(env: NodeJS.ProcessEnv = process.env): KubeSphereConfig {
  const parsed = parse(kubesphereSchema, env);
  const credentials = parsed.KUBESPHERE_TOKEN
    ? { token: parsed.KUBESPHERE_TOKEN }
    : {
        username: parsed.KUBESPHERE_USERNAME!,
        password: parsed.KUBESPHERE_PASSWORD!,
        clientId: parsed.KUBESPHERE_CLIENT_ID,
        clientSecret: parsed.KUBESPHERE_CLIENT_SECRET,
      };
  return { baseUrl: parsed.KUBESPHERE_HOST, credentials, username: parsed.KUBESPHERE_USERNAME };
}
export interface KubeSphereConfig {
  baseUrl: string;
  credentials: Credentials;
  /** the account we act as, recorded as kubesphere.io/creator */
  username: string | undefined;
}

export function workerConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = parse(workerSchema, env);
  const paths = pathsConfig(env);
  return {
    maxConcurrentActivities: parsed.KS_ONBOARD_MAX_CONCURRENT_ACTIVITIES,
    activitiesPerSecond: parsed.KS_ONBOARD_ACTIVITIES_PER_SECOND,
    shutdownGraceTime: parsed.KS_ONBOARD_SHUTDOWN_GRACE,
    sealPrivateKeys: parsed.KS_ONBOARD_SEAL_PRIVATE_KEYS ?? [paths.devKeys.private],
  };
}

export function policyConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = parse(policySchema, env);
  const paths = pathsConfig(env);
  return {
    elevatedRoles: parsed.KS_ONBOARD_ELEVATED_ROLES,
    approvalTimeout: parsed.KS_ONBOARD_APPROVAL_TIMEOUT,
    sealPublicKey: parsed.KS_ONBOARD_SEAL_PUBLIC_KEY ?? paths.devKeys.public,
  };
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
    devKeys: { private: join(dataDir, 'keys', 'seal-private.pem'), public: join(dataDir, 'keys', 'seal-public.pem') },
  };
}
