import { serveApp, type RunningService } from '../http-service.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { timeout } from 'hono/timeout';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ConfigError } from '../config.js';
import { isLoopbackHost } from './codec-config.js';
import { PayloadCodecError } from './payload-codec.js';

/**
 * Temporal's remote codec protocol for the Web UI (and `temporal --codec-endpoint`): `POST …/encode` and
 * `POST …/decode` (only the last path segment counts, so `/<namespace>/decode` works too), body and answer
 * `{"payloads": [{"metadata": {"<key>": "<base64>"}, "data": "<base64>"}]}` (proto3 JSON of Payloads). The browser
 * calls it directly, so it answers CORS for the one UI origin. It never logs payloads, tokens or keys.
 */
export type CodecAuth =
  /** nobody is asked who they are: only on a loopback address */
  | { mode: 'none' }
  /** the bearer token the Web UI forwards is a KubeSphere token: `GET /oauth/userinfo` says whose */
  | {
      mode: 'kubesphere';
      whoAmI: (token: string) => Promise<{ username: string }>;
      /** only these KubeSphere users (absent: every user KubeSphere knows) */
      allowedUsers?: readonly string[];
    }
  /** one static bearer token, for scripts */
  | { mode: 'token'; token: string };

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** the Web UI's origin, e.g. http://localhost:8233 (several: the same UI reached by two names) */
  corsOrigin: string | string[];
  auth: CodecAuth;
  log: Logger;
  /** a larger body is answered 413 (default 4 MiB) */
  maxBodyBytes?: number;
  /** how long a KubeSphere identity is trusted without asking again (default 60 s) */
  identityTtlMs?: number;
  /** the clock of the identity cache (tests) */
  now?: () => number;
}

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
const IDENTITY_TTL_MS = 60_000;
/** Beyond this many cached identities the oldest are dropped (each distinct token takes one entry). */
const MAX_CACHED_IDENTITIES = 10_000;
/** A KubeSphere that has not answered by then counts as unreachable (503). */
const WHOAMI_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 15_000;
const ALLOW_HEADERS = ['Content-Type', 'Authorization', 'X-Namespace'];

type Env = { Variables: { user?: string; payloads?: number; reason?: string } };

/** The codec server's HTTP API (Hono). `none` auth is checked against the listen address by startCodecServer. */
export function createCodecApp(options: CodecServerOptions): Hono<Env> {
  const { log, codec } = options;
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const app = new Hono<Env>();

  // Outermost: every answer is logged, whatever produced it (CORS preflight, auth, body limit, errors).
  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    const path = new URL(c.req.url).pathname;
    const line = {
      method: c.req.method,
      path: printable(path, 200),
      status: c.res.status,
      ...(c.get('payloads') !== undefined ? { payloads: c.get('payloads') } : {}),
      ...(c.get('user') ? { user: c.get('user') } : {}),
      ...(c.req.header('x-namespace') ? { namespace: printable(c.req.header('x-namespace')!, 100) } : {}),
      ...(c.get('reason') ? { reason: c.get('reason') } : {}),
      ms: Math.round(performance.now() - started),
    };
    if (path === '/healthz') log.debug(line, 'codec request');
    else log.info(line, 'codec request');
  });
  app.use(
    '*',
    timeout(REQUEST_TIMEOUT_MS, () => new HTTPException(503, { message: 'the request took too long: try again' })),
  );
  app.use(
    '*',
    cors({
      origin: options.corsOrigin,
      credentials: true,
      allowMethods: ['POST', 'GET', 'OPTIONS'],
      allowHeaders: ALLOW_HEADERS,
      maxAge: 600,
    }),
  );
  if (options.auth.mode === 'none') app.use('*', onlyLoopbackHost());

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.post(
    '*',
    authenticate(options),
    bodyLimit({
      maxSize: maxBody,
      onError: (c) => {
        c.set('reason', 'body too large');
        return c.json({ error: `the body is larger than ${maxBody} bytes: send fewer payloads at a time` }, 413);
      },
    }),
    async (c) => {
      const operation = /\/(encode|decode)\/?$/.exec(new URL(c.req.url).pathname)?.[1];
      if (!operation) return c.json({ error: 'no such endpoint: POST …/encode or …/decode' }, 404);
      const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json')
        return c.json({ error: `the body must be application/json, not ${JSON.stringify(type || 'nothing')}` }, 415);
      let body: unknown;
      try {
        body = JSON.parse(await c.req.text());
      } catch {
        return c.json({ error: 'the body is not JSON' }, 400);
      }
      const request = payloadsSchema.safeParse(body);
      if (!request.success) {
        const issue = request.error.issues[0]!;
        return c.json(
          { error: `the body is not {"payloads": [...]}: ${describePath(issue.path)}${issue.message}` },
          400,
        );
      }
      const payloads = request.data.payloads.map(payloadFromJson);
      c.set('payloads', payloads.length);
      try {
        const answer = operation === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
        return c.json({ payloads: answer.map(payloadToJson) });
      } catch (error) {
        if (error instanceof PayloadCodecError) {
          c.set('reason', error.code);
          return c.json({ error: error.message, code: error.code }, 422);
        }
        throw error;
      }
    },
  );

  app.notFound((c) =>
    c.json({ error: `no such endpoint: ${c.req.method} ${printable(new URL(c.req.url).pathname, 200)}` }, 404),
  );
  app.onError((error, c) => {
    if (error instanceof HTTPException) return c.json({ error: error.message }, error.status);
    // Unexpected: only the error's type is logged (a message from deep inside could quote payload bytes).
    log.error({ err: { type: error.name } }, 'codec request failed');
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}

// ---- authentication ---------------------------------------------------------------------------------

function authenticate(options: CodecServerOptions): MiddlewareHandler<Env> {
  const { auth } = options;
  if (auth.mode === 'none') return async (_c, next) => next();
  if (auth.mode === 'token') {
    if (!auth.token) throw new ConfigError('codec server: auth "token" needs a token (KS_ONBOARD_CODEC_TOKEN)');
    const expected = digest(auth.token);
    return async (c, next) => {
      const given = bearerOf(c.req.header('authorization'));
      // Digests have one length: the comparison takes the same time whatever the given token is.
      if (!given || !timingSafeEqual(digest(given), expected))
        return unauthorized(c, 'a valid bearer token is required');
      c.set('user', 'token');
      return next();
    };
  }
  const identities = new IdentityCache(auth.whoAmI, options.identityTtlMs ?? IDENTITY_TTL_MS, options.now ?? Date.now);
  const allowed = auth.allowedUsers ? new Set(auth.allowedUsers) : undefined;
  return async (c, next) => {
    const token = bearerOf(c.req.header('authorization'));
    if (!token) return unauthorized(c, 'a KubeSphere bearer token is required (let the Web UI pass its access token)');
    const identity = await identities.lookup(token);
    if (identity.kind === 'refused') return unauthorized(c, 'KubeSphere does not accept this token');
    if (identity.kind === 'unreachable') {
      c.set('reason', `KubeSphere unreachable: ${identity.why}`);
      options.log.warn({ reason: identity.why }, 'codec server could not check a token with KubeSphere');
      return c.json({ error: 'KubeSphere could not be asked who you are: try again later' }, 503);
    }
    c.set('user', identity.username);
    if (allowed && !allowed.has(identity.username)) {
      c.set('reason', 'user not allowed');
      return c.json({ error: `${identity.username} may not use the codec server` }, 403);
    }
    return next();
  };
}

type Identity = { kind: 'user'; username: string } | { kind: 'refused' } | { kind: 'unreachable'; why: string };

/**
 * Who holds a token, asked of KubeSphere at most once per TTL and token. Keyed by the token's SHA-256, so the
 * cache holds no token. Concurrent requests with one token (the Web UI decodes a history in several calls at
 * once) share one question; only answers that name a user are kept.
 */
class IdentityCache {
  private readonly entries = new Map<string, { expires: number; identity: Promise<Identity> }>();

  constructor(
    private readonly whoAmI: (token: string) => Promise<{ username: string }>,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  lookup(token: string): Promise<Identity> {
    const key = digest(token).toString('hex');
    const cached = this.entries.get(key);
    if (cached && cached.expires > this.now()) return cached.identity;
    if (cached) this.entries.delete(key);
    const identity = this.ask(token).then((answer) => {
      if (answer.kind === 'user') {
        const entry = this.entries.get(key);
        if (entry) entry.expires = this.now() + this.ttlMs;
      } else this.entries.delete(key);
      return answer;
    });
    // Until answered, the entry only shares the question; its TTL starts with the answer.
    this.entries.set(key, { expires: Number.POSITIVE_INFINITY, identity });
    this.evict();
    return identity;
  }

  private async ask(token: string): Promise<Identity> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${WHOAMI_TIMEOUT_MS} ms`)), WHOAMI_TIMEOUT_MS);
      timer.unref();
    });
    try {
      const { username } = await Promise.race([this.whoAmI(token), late]);
      if (typeof username !== 'string' || !username) return { kind: 'unreachable', why: 'answer without a username' };
      return { kind: 'user', username };
    } catch (error) {
      if (isRefusal(error)) return { kind: 'refused' };
      return { kind: 'unreachable', why: describe(error, token) };
    } finally {
      clearTimeout(timer);
    }
  }

  private evict(): void {
    if (this.entries.size <= MAX_CACHED_IDENTITIES) return;
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expires <= now) this.entries.delete(key);
    // Map order is insertion order: what is left over the bound goes oldest first.
    for (const key of this.entries.keys()) {
      if (this.entries.size <= MAX_CACHED_IDENTITIES) break;
      this.entries.delete(key);
    }
  }
}

/** KubeSphere answered, and said no: 401 (a bad, expired or revoked token) or 403. Anything else is unreachable. */
function isRefusal(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { status, code } = error as { status?: unknown; code?: unknown };
  return status === 401 || status === 403 || code === 'KS_UNAUTHORIZED' || code === 'KS_FORBIDDEN';
}

/** For logs: the error's type and code, and its message without the token. */
function describe(error: unknown, token: string): string {
  if (!(error instanceof Error)) return 'unknown error';
  const code = (error as { code?: unknown }).code;
  const message = error.message.split(token).join('[REDACTED]');
  return printable(`${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${message}`, 300);
}

function unauthorized(c: Context<Env>, error: string) {
  c.set('reason', 'unauthenticated');
  return c.json({ error }, 401, { 'WWW-Authenticate': 'Bearer' });
}

/**
 * Without authentication, a request must name this machine in its Host header: a web page that rebinds its
 * own DNS name to 127.0.0.1 could otherwise call the codec server as a same-origin page.
 */
function onlyLoopbackHost(): MiddlewareHandler<Env> {
  return async (c, next) => {
    if (isLoopbackHost(new URL(c.req.url).hostname)) return next();
    c.set('reason', 'not a loopback Host');
    return c.json({ error: 'this codec server answers only requests to a loopback address' }, 403);
  };
}

function bearerOf(header: string | undefined): string {
  return /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1] ?? '';
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

// ---- proto3 JSON of Payload ---------------------------------------------------------------------------

/** bytes in proto3 JSON: standard or URL-safe base64, padding optional */
const base64 = z
  .string()
  .regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'is not base64')
  .refine((value) => value.replace(/=+$/, '').length % 4 !== 1, 'is not base64');
const int64 = z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,19}$/)]);
const externalPayload = z.object({ sizeBytes: int64.optional(), size_bytes: int64.optional() });
const jsonPayload = z.object({
  metadata: z.record(z.string(), base64).nullish(),
  data: base64.nullish(),
  externalPayloads: z.array(externalPayload).nullish(),
  external_payloads: z.array(externalPayload).nullish(),
});
const payloadsSchema = z.object({ payloads: z.array(jsonPayload) });
type JsonPayload = z.output<typeof jsonPayload>;
const { ExternalPayloadDetails } = proto.temporal.api.common.v1.Payload;

function payloadFromJson(json: JsonPayload): Payload {
  const external = json.externalPayloads ?? json.external_payloads ?? [];
  return {
    metadata: Object.fromEntries(
      Object.entries(json.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')]),
    ),
    data: Buffer.from(json.data ?? '', 'base64'),
    ...(external.length
      ? {
          externalPayloads: external.map((e) =>
            ExternalPayloadDetails.fromObject({ sizeBytes: String(e.sizeBytes ?? e.size_bytes ?? 0) }),
          ),
        }
      : {}),
  };
}

function payloadToJson(payload: Payload): Record<string, unknown> {
  const external = payload.externalPayloads ?? [];
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, toBase64(value)])),
    data: toBase64(payload.data),
    ...(external.length ? { externalPayloads: external.map((e) => ({ sizeBytes: String(e.sizeBytes ?? 0) })) } : {}),
  };
}

function toBase64(bytes: Uint8Array | null | undefined): string {
  return bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') : '';
}

function describePath(path: readonly PropertyKey[]): string {
  return path.length ? `${path.map(String).join('.')}: ` : '';
}

/** Untrusted text for a log line: printable ASCII, bounded. */
function printable(value: string, max: number): string {
  return value.replace(/[^\x20-\x7e]/g, '?').slice(0, max);
}

// ---- serving -------------------------------------------------------------------------------------------

export type RunningCodecServer = Pick<RunningService, 'url' | 'close'>;

/**
 * Serves the codec server; close() is the graceful shutdown. Refuses (ConfigError) to serve without
 * authentication anywhere but on a loopback address.
 */
export async function startCodecServer(
  options: CodecServerOptions,
  listen: { port: number; host: string },
): Promise<RunningCodecServer> {
  if (options.auth.mode === 'none' && !isLoopbackHost(listen.host)) throw noneRefused(listen.host);
  const service = await serveApp(createCodecApp(options), listen);
  // A host name (localhost) is checked again as bound: only the address says where it really listens.
  if (options.auth.mode === 'none' && !isLoopbackHost(service.address.address)) {
    await service.close();
    throw noneRefused(`${listen.host} (${service.address.address})`);
  }
  return service;
}

function noneRefused(host: string): ConfigError {
  return new ConfigError(
    `the codec server refuses to listen on ${host} without authentication: "none" is allowed only on a loopback address (127.0.0.1, ::1); set KS_ONBOARD_CODEC_AUTH=kubesphere or token`,
  );
}
