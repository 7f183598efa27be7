import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../config.js';
import { KubeSphereError } from '../kubesphere/errors.js';
import {
  createCodecApp,
  startCodecServer,
  type CodecAuth,
  type CodecServerOptions,
  type RunningCodecServer,
} from './codec-server.js';
import { parseKeyRing, PayloadEncryptionCodec } from './payload-codec.js';

const ORIGIN = 'http://localhost:8233';
const KEY = randomBytes(32).toString('base64');
const codec = new PayloadEncryptionCodec(parseKeyRing(`k1:${KEY}`));
const GOOD = `ks-token-${randomBytes(16).toString('hex')}`;
const BAD = `ks-token-${randomBytes(16).toString('hex')}`;
const STATIC_TOKEN = randomBytes(24).toString('hex');
const EMAIL = 'ada.lovelace@example.com';
const SEALED = `ks-sealed:v1:0123456789abcdef:${randomBytes(64).toString('base64url')}`;

type JsonPayload = { metadata: Record<string, string>; data: string };
const json = (payload: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(payload.data ?? []).toString('base64'),
});
const b64 = (text: string) => Buffer.from(text).toString('base64');
const fromJson = (p: JsonPayload) =>
  defaultPayloadConverter.fromPayload({
    metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data, 'base64'),
  });
const INPUT = { username: 'ada', email: EMAIL, password: SEALED };
const PLAIN = [json(defaultPayloadConverter.toPayload(INPUT)), json(defaultPayloadConverter.toPayload('tiny'))];

const running: RunningCodecServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

/** A codec server on a free loopback port, its log lines (JSON) captured. */
async function serve(auth: CodecAuth, extra: Partial<CodecServerOptions> = {}) {
  const logs: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const server = await startCodecServer(
    { codec, corsOrigin: ORIGIN, auth, log, ...extra },
    { port: 0, host: '127.0.0.1' },
  );
  running.push(server);
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  return { server, logs, post, entries: () => logs.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function kubesphereAuth(extra: Partial<Extract<CodecAuth, { mode: 'kubesphere' }>> = {}) {
  const whoAmI = vi.fn(async (token: string) => {
    if (token === GOOD) return { username: 'alice' };
    throw new KubeSphereError('KS_UNAUTHORIZED', 'token is invalid', {
      status: 401,
      method: 'GET',
      path: '/oauth/userinfo',
    });
  });
  return { auth: { mode: 'kubesphere' as const, whoAmI, ...extra }, whoAmI };
}

describe('codec server: the protocol', () => {
  it('encodes and decodes {payloads} over HTTP; only the last path segment counts; X-Namespace accepted', async () => {
    const { post, logs } = await serve({ mode: 'none' });
    const encoded = await post('/encode', { payloads: PLAIN }, { 'x-namespace': 'onboarding' });
    expect(encoded.status).toBe(200);
    expect(encoded.headers.get('content-type')).toMatch(/^application\/json/);
    const { payloads } = (await encoded.json()) as { payloads: JsonPayload[] };
    expect(payloads).toHaveLength(2);
    for (const p of payloads) {
      expect(p.metadata.encoding).toBe(b64('binary/encrypted'));
      expect(p.metadata['encryption-key-id']).toBe(b64('k1'));
      const bytes = Buffer.from(p.data, 'base64');
      expect(bytes.includes(EMAIL)).toBe(false);
      expect(bytes.includes('ks-sealed:')).toBe(false);
    }
    const decoded = await post('/onboarding/decode', { payloads }, { 'x-namespace': 'onboarding' });
    expect(decoded.status).toBe(200);
    const back = (await decoded.json()) as { payloads: JsonPayload[] };
    expect(back.payloads).toEqual(PLAIN);
    expect(fromJson(back.payloads[0]!)).toEqual(INPUT);
    const lines = logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({ path: '/encode', status: 200, payloads: 2, namespace: 'onboarding' }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ path: '/onboarding/decode', status: 200, payloads: 2 }));
  });

  it('decodes what the codec itself wrote, passes unencrypted payloads through, accepts an empty list', async () => {
    const { post } = await serve({ mode: 'none' });
    const mine = json((await codec.encode([defaultPayloadConverter.toPayload({ a: 1 })]))[0]!);
    const answer = await post('/decode', { payloads: [mine, PLAIN[1], {}] });
    expect(answer.status).toBe(200);
    const { payloads } = (await answer.json()) as { payloads: JsonPayload[] };
    expect(fromJson(payloads[0]!)).toEqual({ a: 1 });
    expect(payloads[1]).toEqual(PLAIN[1]);
    expect(payloads[2]).toEqual({ metadata: {}, data: '' });
    expect(await (await post('/decode', { payloads: [] })).json()).toEqual({ payloads: [] });
  });

  it('keeps externalPayloads (proto3 JSON: int64 as a string) through encode and decode', async () => {
    const { post } = await serve({ mode: 'none' });
    const payload = {
      metadata: { encoding: b64('json/plain') },
      data: b64('1'),
      externalPayloads: [{ sizeBytes: '5' }],
    };
    const encoded = (await (await post('/encode', { payloads: [payload] })).json()) as { payloads: JsonPayload[] };
    expect(encoded.payloads[0]).not.toHaveProperty('externalPayloads');
    const decoded = await (await post('/decode', encoded)).json();
    expect(decoded).toEqual({ payloads: [payload] });
  });

  it('answers 422 naming the key id for a tampered payload or an unknown key, never its data', async () => {
    const { post } = await serve({ mode: 'none' });
    const [good] = ((await (await post('/encode', { payloads: [PLAIN[0]] })).json()) as { payloads: JsonPayload[] })
      .payloads;
    const data = Buffer.from(good!.data, 'base64');
    data[20] = data[20]! ^ 1;
    const tampered = await post('/decode', { payloads: [{ ...good, data: data.toString('base64') }] });
    expect(tampered.status).toBe(422);
    expect(await tampered.json()).toMatchObject({ code: 'NOT_AUTHENTIC', error: expect.stringMatching(/key id "k1"/) });
    const unknown = await post('/decode', {
      payloads: [{ ...good, metadata: { ...good!.metadata, 'encryption-key-id': b64('gone') } }],
    });
    expect(unknown.status).toBe(422);
    expect(await unknown.json()).toMatchObject({ code: 'UNKNOWN_KEY', error: expect.stringMatching(/key id "gone"/) });
  });

  it.each([
    ['not JSON', '{payloads', 400, /not JSON/],
    ['no payloads', { items: [] }, 400, /not \{"payloads": \[\.\.\.\]\}: payloads: /],
    ['bad base64 data', { payloads: [{ data: 'a%b' }] }, 400, /payloads\.0\.data: is not base64/],
    ['bad metadata', { payloads: [{ metadata: { encoding: 5 } }] }, 400, /payloads\.0\.metadata\.encoding/],
  ])('answers 400 for %s', async (_what, body, status, message) => {
    const { post } = await serve({ mode: 'none' });
    const answer = await post('/decode', body);
    expect(answer.status).toBe(status);
    expect(((await answer.json()) as { error: string }).error).toMatch(message);
  });

  it('answers 415 for another content type, 404 for another path, and /healthz', async () => {
    const { post, server } = await serve({ mode: 'none' });
    expect((await post('/decode', JSON.stringify({ payloads: [] }), { 'content-type': 'text/plain' })).status).toBe(
      415,
    );
    expect((await post('/decoder', { payloads: [] })).status).toBe(404);
    expect((await fetch(`${server.url}/decode`)).status).toBe(404);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  });

  it('answers 413 to a body over 4 MiB, before reading it', async () => {
    const { post, entries } = await serve({ mode: 'none' });
    const big = { payloads: [{ data: 'A'.repeat(4 * 1024 * 1024 + 4) }] };
    const answer = await post('/decode', big);
    expect(answer.status).toBe(413);
    expect(((await answer.json()) as { error: string }).error).toMatch(/larger than 4194304 bytes/);
    expect(entries()).toContainEqual(expect.objectContaining({ path: '/decode', status: 413 }));
    // Just under the limit is taken.
    const under = { payloads: [{ data: 'A'.repeat(4 * 1024 * 1024 - 100) }] };
    expect((await post('/decode', under)).status).toBe(200);
  });
});

describe('codec server: CORS for the Web UI', () => {
  it('answers the preflight 204 for the UI origin, without authentication', async () => {
    const { auth, whoAmI } = kubesphereAuth();
    const { server } = await serve(auth);
    const answer = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,x-namespace',
      },
    });
    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(answer.headers.get('access-control-allow-credentials')).toBe('true');
    expect(answer.headers.get('access-control-allow-headers')).toBe('Content-Type,Authorization,X-Namespace');
    expect(answer.headers.get('access-control-allow-methods')).toContain('POST');
    expect(answer.headers.get('vary')).toContain('Origin');
    expect(whoAmI).not.toHaveBeenCalled();
  });

  it('names exactly the UI origin on answers (401s included), and no other origin', async () => {
    const { auth } = kubesphereAuth();
    const { post } = await serve(auth);
    const ok = await post('/decode', { payloads: [] }, { origin: ORIGIN, authorization: `Bearer ${GOOD}` });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    const refused = await post('/decode', { payloads: [] }, { origin: ORIGIN });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const other = await post(
      '/decode',
      { payloads: [] },
      { origin: 'https://evil.example', authorization: `Bearer ${GOOD}` },
    );
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('codec server: kubesphere authentication', () => {
  it('answers 401 without a bearer token and with one KubeSphere refuses', async () => {
    const { auth, whoAmI } = kubesphereAuth();
    const { post } = await serve(auth);
    const none = await post('/decode', { payloads: PLAIN });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await post('/decode', { payloads: PLAIN }, { authorization: 'Basic abc' })).status).toBe(401);
    const bad = await post('/decode', { payloads: PLAIN }, { authorization: `Bearer ${BAD}` });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ error: 'KubeSphere does not accept this token' });
    expect(whoAmI).toHaveBeenCalledTimes(1);
    expect(whoAmI).toHaveBeenCalledWith(BAD);
  });

  it('asks KubeSphere once per token and minute; concurrent requests share the question', async () => {
    let now = 1_000_000;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const whoAmI = vi.fn(async (token: string) => {
      await gate;
      if (token === GOOD) return { username: 'alice' };
      throw new KubeSphereError('KS_UNAUTHORIZED', 'no', { status: 401 });
    });
    const { post, entries } = await serve({ mode: 'kubesphere', whoAmI }, { now: () => now });
    const headers = { authorization: `Bearer ${GOOD}` };
    const together = [post('/decode', { payloads: [] }, headers), post('/encode', { payloads: [] }, headers)];
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    expect((await Promise.all(together)).map((r) => r.status)).toEqual([200, 200]);
    expect(whoAmI).toHaveBeenCalledTimes(1);
    now += 59_000;
    expect((await post('/decode', { payloads: PLAIN }, headers)).status).toBe(200);
    expect(whoAmI).toHaveBeenCalledTimes(1);
    now += 2_000;
    expect((await post('/decode', { payloads: PLAIN }, headers)).status).toBe(200);
    expect(whoAmI).toHaveBeenCalledTimes(2);
    expect(entries()).toContainEqual(
      expect.objectContaining({ path: '/decode', status: 200, user: 'alice', payloads: 2 }),
    );
  });

  it('answers 503 when KubeSphere cannot be reached, and asks again next time (no failure cached)', async () => {
    let down = true;
    const whoAmI = vi.fn(async (token: string) => {
      if (down)
        throw new KubeSphereError('KS_NETWORK', `connect ECONNREFUSED 10.0.0.1:80 (sent ${token})`, {
          method: 'GET',
          path: '/oauth/userinfo',
        });
      return { username: 'alice' };
    });
    const { post, logs } = await serve({ mode: 'kubesphere', whoAmI });
    const headers = { authorization: `Bearer ${GOOD}` };
    const answer = await post('/decode', { payloads: PLAIN }, headers);
    expect(answer.status).toBe(503);
    expect(await answer.json()).toEqual({ error: 'KubeSphere could not be asked who you are: try again later' });
    const fetchFailed = vi.fn(async () => Promise.reject(new TypeError('fetch failed')));
    const other = await serve({ mode: 'kubesphere', whoAmI: fetchFailed });
    expect((await other.post('/decode', { payloads: [] }, headers)).status).toBe(503);
    down = false;
    expect((await post('/decode', { payloads: PLAIN }, headers)).status).toBe(200);
    expect(whoAmI).toHaveBeenCalledTimes(2);
    const text = logs.join('\n');
    expect(text).toMatch(/KS_NETWORK: connect ECONNREFUSED 10\.0\.0\.1:80 \(sent \[REDACTED\]/);
    expect(text).not.toContain(GOOD);
  });

  it('lets in only the allowed users (403 for others)', async () => {
    const { auth } = kubesphereAuth({ allowedUsers: ['bob'] });
    const { post, entries } = await serve(auth);
    const answer = await post('/decode', { payloads: PLAIN }, { authorization: `Bearer ${GOOD}` });
    expect(answer.status).toBe(403);
    expect(await answer.json()).toEqual({ error: 'alice may not use the codec server' });
    expect(entries()).toContainEqual(expect.objectContaining({ status: 403, user: 'alice' }));
  });
});

describe('codec server: token authentication and none', () => {
  it('token: 401 without or with a wrong token, 200 with the token', async () => {
    const { post, entries } = await serve({ mode: 'token', token: STATIC_TOKEN });
    expect((await post('/decode', { payloads: PLAIN })).status).toBe(401);
    expect((await post('/decode', { payloads: PLAIN }, { authorization: `Bearer ${STATIC_TOKEN}x` })).status).toBe(401);
    expect(
      (await post('/decode', { payloads: PLAIN }, { authorization: `Bearer ${STATIC_TOKEN.slice(1)}` })).status,
    ).toBe(401);
    expect((await post('/decode', { payloads: PLAIN }, { authorization: `bearer ${STATIC_TOKEN}` })).status).toBe(200);
    expect(entries()).toContainEqual(expect.objectContaining({ status: 200, user: 'token' }));
  });

  it.each(['0.0.0.0', '::'])('refuses to start without authentication on %s', async (host) => {
    const log = pino({ level: 'silent' });
    const attempt = startCodecServer({ codec, corsOrigin: ORIGIN, auth: { mode: 'none' }, log }, { port: 0, host });
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(attempt).rejects.toThrow(/refuses to listen on .* without authentication/);
  });

  it('without authentication, refuses a request naming another host (DNS rebinding)', async () => {
    const app = createCodecApp({ codec, corsOrigin: ORIGIN, auth: { mode: 'none' }, log: pino({ level: 'silent' }) });
    const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"payloads":[]}' };
    expect((await app.request('http://rebound.example:8888/decode', init)).status).toBe(403);
    expect((await app.request('http://127.0.0.1:8888/decode', init)).status).toBe(200);
    expect((await app.request('http://localhost:8888/decode', init)).status).toBe(200);
  });
});

describe('codec server: logs', () => {
  it('say path, status, payload count and user, never the token, the key or payload contents', async () => {
    const { auth } = kubesphereAuth();
    const { post, logs } = await serve(auth);
    const headers = { authorization: `Bearer ${GOOD}`, 'x-namespace': 'onboarding', origin: ORIGIN };
    const encoded = (await (await post('/encode', { payloads: PLAIN }, headers)).json()) as { payloads: JsonPayload[] };
    await post('/decode', encoded, headers);
    await post('/decode', encoded, { authorization: `Bearer ${BAD}` });
    await post('/decode', { payloads: [{ ...encoded.payloads[0], data: 'AAAA' }] }, headers);
    const text = logs.join('\n');
    expect(logs.length).toBeGreaterThanOrEqual(4);
    for (const secret of [GOOD, BAD, KEY, EMAIL, SEALED, 'ks-sealed', ...PLAIN.map((p) => p.data)])
      expect(text).not.toContain(secret);
    for (const p of encoded.payloads) expect(text).not.toContain(p.data);
    const lines = logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.path, l.status, l.payloads, l.user])).toEqual([
      ['/encode', 200, 2, 'alice'],
      ['/decode', 200, 2, 'alice'],
      ['/decode', 401, undefined, undefined],
      ['/decode', 422, 1, 'alice'],
    ]);
    expect(lines.every((l) => l.msg === 'codec request' && typeof l.ms === 'number')).toBe(true);
  });
});
