import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { ConfigError } from '../config.js';
import { checkUsername } from '../policy/names.js';
import { CodecKeyError, parseKeyRing, type KeyRing } from './payload-codec.js';

/**
 * The payload codec's settings (the key ring, read by every client, worker and codec server) and the codec
 * server's (where it listens, whom it lets in). A bad value throws a ConfigError naming the variable; a key or a
 * token never appears in a message.
 */
export type CodecAuthMode = 'none' | 'kubesphere' | 'token';

export interface CodecConfig {
  /** the key ring (first key encrypts, all decrypt); absent: payloads are not encrypted */
  keyRing?: KeyRing;
  port: number;
  host: string;
  /** the Temporal Web UI's origin, the only one the browser may call the codec server from */
  corsOrigin: string;
  auth: CodecAuthMode;
  /** the static bearer token of `auth: token` */
  token?: string;
  /** `auth: kubesphere` only: the KubeSphere users who may use the codec server (absent: every authenticated user) */
  allowedUsers?: string[];
}

export const DEFAULT_CODEC_PORT = 8888;
export const DEFAULT_CODEC_HOST = '127.0.0.1';
export const DEFAULT_CODEC_CORS_ORIGIN = 'http://localhost:8233';
const MIN_TOKEN_LENGTH = 24;

const serverSchema = z.object({
  KS_ONBOARD_CODEC_PORT: z.coerce.number().int().min(0).max(65535).default(DEFAULT_CODEC_PORT),
  KS_ONBOARD_CODEC_HOST: z
    .string()
    .regex(
      /^(?:[0-9.]+|\[?[0-9A-Fa-f:.]+\]?|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)$/,
      'must be an address or host name, e.g. 127.0.0.1 or 0.0.0.0',
    )
    .default(DEFAULT_CODEC_HOST),
  KS_ONBOARD_CODEC_CORS_ORIGIN: z
    .string()
    .default(DEFAULT_CODEC_CORS_ORIGIN)
    .refine(isOrigin, {
      error: (issue) =>
        `must be the Web UI's origin, scheme://host[:port] with no path or trailing slash, e.g. ${DEFAULT_CODEC_CORS_ORIGIN} (got ${JSON.stringify(issue.input)})`,
    }),
  KS_ONBOARD_CODEC_AUTH: z
    .enum(['none', 'kubesphere', 'token'], { error: 'must be none, kubesphere or token' })
    .default('none'),
});

/**
 * The key ring alone (`KS_ONBOARD_CODEC_KEYS`), for clients and workers: undefined when unset (no encryption).
 * Set but empty or malformed is an error, never a silent "no encryption".
 */
export function parseCodecKeyRing(env: NodeJS.ProcessEnv): KeyRing | undefined {
  const text = env.KS_ONBOARD_CODEC_KEYS;
  if (text === undefined) return undefined;
  try {
    return parseKeyRing(text);
  } catch (error) {
    if (error instanceof CodecKeyError)
      throw new ConfigError(`bad configuration: KS_ONBOARD_CODEC_KEYS: ${error.message}`);
    throw error;
  }
}

/** The codec's and the codec server's settings. */
export function parseCodecConfig(env: NodeJS.ProcessEnv): CodecConfig {
  const keyRing = parseCodecKeyRing(env);
  const parsed = serverSchema.safeParse(env);
  if (!parsed.success)
    throw new ConfigError(
      `bad configuration: ${parsed.error.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`).join('; ')}`,
    );
  const problems: string[] = [];
  const {
    KS_ONBOARD_CODEC_PORT: port,
    KS_ONBOARD_CODEC_HOST: host,
    KS_ONBOARD_CODEC_CORS_ORIGIN: corsOrigin,
    KS_ONBOARD_CODEC_AUTH: auth,
  } = parsed.data;

  const token = env.KS_ONBOARD_CODEC_TOKEN;
  if (auth === 'token') {
    if (!token) problems.push('KS_ONBOARD_CODEC_TOKEN: is required with KS_ONBOARD_CODEC_AUTH=token');
    else if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token))
      problems.push(
        `KS_ONBOARD_CODEC_TOKEN: must be at least ${MIN_TOKEN_LENGTH} characters without spaces (e.g. openssl rand -hex 24)`,
      );
  } else if (token !== undefined) {
    problems.push(`KS_ONBOARD_CODEC_TOKEN: is set, but KS_ONBOARD_CODEC_AUTH is ${auth}, not token`);
  }

  let allowedUsers: string[] | undefined;
  const users = env.KS_ONBOARD_CODEC_ALLOWED_USERS;
  if (users !== undefined) {
    allowedUsers = [
      ...new Set(
        users
          .split(',')
          .map((user) => user.trim())
          .filter(Boolean),
      ),
    ];
    if (auth !== 'kubesphere')
      problems.push(`KS_ONBOARD_CODEC_ALLOWED_USERS: applies to KS_ONBOARD_CODEC_AUTH=kubesphere only, not ${auth}`);
    else if (!allowedUsers.length)
      problems.push('KS_ONBOARD_CODEC_ALLOWED_USERS: must list at least one KubeSphere username (or be unset)');
    for (const user of allowedUsers)
      for (const problem of checkUsername(user)) problems.push(`KS_ONBOARD_CODEC_ALLOWED_USERS: ${problem.message}`);
  }

  if (auth === 'none' && !isLoopbackHost(host))
    problems.push(
      `KS_ONBOARD_CODEC_AUTH: none is allowed only on a loopback address (KS_ONBOARD_CODEC_HOST is ${host}): set KS_ONBOARD_CODEC_AUTH=kubesphere or token, or listen on 127.0.0.1`,
    );

  if (problems.length) throw new ConfigError(`bad configuration: ${problems.join('; ')}`);
  return {
    ...(keyRing ? { keyRing } : {}),
    port,
    host,
    corsOrigin,
    auth,
    ...(auth === 'token' && token ? { token } : {}),
    ...(allowedUsers ? { allowedUsers } : {}),
  };
}

/** The key ring the codec server needs: it has nothing to decode with otherwise. */
export function requireKeyRing(config: Pick<CodecConfig, 'keyRing'>): KeyRing {
  if (!config.keyRing)
    throw new ConfigError(
      'KS_ONBOARD_CODEC_KEYS: the codec server needs the key ring of the workers (key-id:base64[,key-id:base64…])',
    );
  return config.keyRing;
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) or localhost: only this machine can connect. */
export function isLoopbackHost(host: string): boolean {
  const name = host
    .trim()
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
  if (name === 'localhost' || name === '::1' || name === '0:0:0:0:0:0:0:1') return true;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(name)?.[1] ?? name;
  return isIPv4(v4) && v4.startsWith('127.');
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}
