import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KubeSphereClient } from './client.js';
import type { KubeSphereError } from './errors.js';
import { Transport } from './transport.js';

const ORIGIN = 'http://ks.test';
const USERS = '/kapis/iam.kubesphere.io/v1beta1/users';

let agent: MockAgent;
beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
});
afterEach(async () => {
  vi.useRealTimers();
  await agent.close();
});

const pool = () => agent.get(ORIGIN);
const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (e: KubeSphereError) => e.code,
  );
const user = (name: string) => ({ metadata: { name, resourceVersion: '1' }, spec: {}, status: {} });

describe('credentials from a function', () => {
  it('refuses unusable credentials before any request, without quoting them', async () => {
    const client = new KubeSphereClient({
      baseUrl: ORIGIN,
      dispatcher: agent,
      credentials: () => ({ username: 'admin', password: '' }),
    });
    const error = (await client.getUser('a').catch((e: unknown) => e)) as KubeSphereError;
    expect(error.code).toBe('KS_BAD_INPUT');
    expect(error.message).toBe('credentials: password must not be empty');
  });

  it('is read only when a login is due', async () => {
    let reads = 0;
    pool()
      .intercept({ path: '/oauth/token', method: 'POST' })
      .reply(200, { access_token: 't1', token_type: 'Bearer', expires_in: 7200 });
    pool()
      .intercept({ path: `${USERS}/a`, method: 'GET', headers: { authorization: 'Bearer t1' } })
      .reply(200, user('a'))
      .times(3);
    const client = new KubeSphereClient({
      baseUrl: ORIGIN,
      dispatcher: agent,
      credentials: () => (reads++, { username: 'admin', password: 'P@88w0rd' }),
    });
    for (let i = 0; i < 3; i++) await client.getUser('a');
    expect(reads).toBe(1);
  });

  it('an owner callback that throws does not change what callers see', async () => {
    pool()
      .intercept({ path: '/oauth/token', method: 'POST' })
      .reply(400, { error: 'invalid_grant', error_description: 'Invalid username or password.' });
    const client = new KubeSphereClient({
      baseUrl: ORIGIN,
      dispatcher: agent,
      credentials: { username: 'admin', password: 'nope' },
      onCredentialsRejected: () => {
        throw new Error('owner bug');
      },
    });
    expect(await codeOf(client.getUser('a'))).toBe('KS_LOGIN_FAILED');
    expect(await codeOf(client.getUser('a'))).toBe('KS_CREDENTIALS_REJECTED');
    agent.assertNoPendingInterceptors();
  });

  it('a refresh token that stopped working is not a rejection of the password', async () => {
    let now = 1_000_000;
    const grants: string[] = [];
    pool()
      .intercept({
        path: '/oauth/token',
        method: 'POST',
        body: (b) => (grants.push(new URLSearchParams(b).get('grant_type')!), true),
      })
      .reply(200, { access_token: 't1', token_type: 'Bearer', refresh_token: 'r1', expires_in: 600 });
    pool()
      .intercept({ path: '/oauth/token', method: 'POST', body: (b) => b.includes('grant_type=refresh_token') })
      .reply(400, { error: 'invalid_grant', error_description: 'The refresh token is invalid or expired.' });
    pool()
      .intercept({ path: '/oauth/token', method: 'POST', body: (b) => b.includes('grant_type=password') })
      .reply(200, { access_token: 't2', token_type: 'Bearer', expires_in: 600 });
    pool()
      .intercept({ path: `${USERS}/a`, method: 'GET' })
      .reply(200, user('a'))
      .times(2);
    const client = new KubeSphereClient({
      baseUrl: ORIGIN,
      dispatcher: agent,
      credentials: { username: 'admin', password: 'P@88w0rd' },
      now: () => now,
    });
    await client.getUser('a');
    now += 590_000;
    await client.getUser('a');
    expect(client.authHealth()).toEqual({ ok: true });
    agent.assertNoPendingInterceptors();
  });
});

describe('request deadline', () => {
  it('defaults to 10 s for the whole request', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    pool()
      .intercept({ path: `${USERS}/a`, method: 'GET' })
      .reply(200, user('a'))
      .delay(60_000);
    const client = new KubeSphereClient({ baseUrl: ORIGIN, dispatcher: agent, credentials: { token: 't' } });
    let result: string | undefined;
    void codeOf(client.getUser('a')).then((code) => (result = code));
    await vi.advanceTimersByTimeAsync(9_990);
    expect(result).toBeUndefined();
    await vi.advanceTimersByTimeAsync(20);
    expect(result).toBe('KS_TIMEOUT');
  });

  it('an already aborted signal sends nothing', async () => {
    const transport = new Transport({ baseUrl: ORIGIN, dispatcher: agent });
    const reason = new Error('cancelled');
    const error = (await transport
      .send({ method: 'GET', path: USERS, signal: AbortSignal.abort(reason) })
      .catch((e: unknown) => e)) as KubeSphereError;
    expect(error.code).toBe('KS_ABORTED');
    expect(error.cause).toBe(reason);
  });
});

describe('views made by withSignal', () => {
  it('share the login and stop on either of two chained signals', async () => {
    let logins = 0;
    pool()
      .intercept({ path: '/oauth/token', method: 'POST' })
      .reply(200, () => (logins++, { access_token: 't1', token_type: 'Bearer' }));
    pool()
      .intercept({ path: `${USERS}/a`, method: 'GET' })
      .reply(200, user('a'))
      .times(2);
    const root = new KubeSphereClient({
      baseUrl: ORIGIN,
      dispatcher: agent,
      credentials: { username: 'admin', password: 'P@88w0rd' },
    });
    const outer = new AbortController();
    const inner = new AbortController();
    const view = root.withSignal(outer.signal).withSignal(inner.signal);
    await view.getUser('a');
    await root.getUser('a');
    expect(logins).toBe(1);
    outer.abort();
    expect(await codeOf(view.getUser('a'))).toBe('KS_ABORTED');
    expect(view.baseUrl).toBe(ORIGIN);
  });
});
