import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeSphereClient } from './client.js';
import { KubeSphereError } from './errors.js';
import { Transport } from './transport.js';

const ORIGIN = 'http://ks.test';
const USERS = '/kapis/iam.kubesphere.io/v1beta1/users';
const PASSWORD = 'Sup3r-Secret!';

let agent: MockAgent;
let now: number;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  now = 1_000_000;
});

afterEach(async () => {
  await agent.close();
});

function client(
  credentials: ConstructorParameters<typeof KubeSphereClient>[0]['credentials'] = {
    username: 'admin',
    password: PASSWORD,
  },
) {
  return new KubeSphereClient({ baseUrl: ORIGIN, dispatcher: agent, credentials, now: () => now });
}

function tokenReply(access: string, expiresIn = 7200) {
  return { access_token: access, token_type: 'Bearer', refresh_token: `refresh-${access}`, expires_in: expiresIn };
}

const pool = () => agent.get(ORIGIN);
/** KubeSphere's authentication filter answer for a refused token (a Kubernetes Status). */
const UNAUTHORIZED = {
  kind: 'Status',
  status: 'Failure',
  message: 'token not found in cache',
  reason: 'Unauthorized',
  code: 401,
};
const user = (name: string) => ({
  metadata: { name, resourceVersion: '1' },
  spec: { email: `${name}@x.io` },
  status: {},
});

describe('transport method guard', () => {
  it.each(['DELETE', 'PATCH', 'delete'])('refuses %s before any I/O', async (method) => {
    const transport = new Transport({ baseUrl: ORIGIN, dispatcher: agent });
    const error = await transport.send({ method, path: USERS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeSphereError);
    expect((error as KubeSphereError).code).toBe('KS_METHOD_REFUSED');
    agent.assertNoPendingInterceptors();
  });

  it('the client exposes no delete method', () => {
    const names = Object.getOwnPropertyNames(KubeSphereClient.prototype);
    expect(names.filter((n) => /delete|remove|destroy/i.test(n))).toEqual([]);
  });
});

describe('authentication', () => {
  it('logs in once with the password grant and sends the bearer token', async () => {
    let loginBody = '';
    pool()
      .intercept({ path: '/oauth/token', method: 'POST', body: (b) => ((loginBody = b), true) })
      .reply(200, tokenReply('t1'));
    pool()
      .intercept({ path: `${USERS}/alice`, method: 'GET', headers: { authorization: 'Bearer t1' } })
      .reply(200, user('alice'));
    const got = await client().getUser('alice');
    expect(got.metadata.name).toBe('alice');
    const form = new URLSearchParams(loginBody);
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'password',
      username: 'admin',
      password: PASSWORD,
      client_id: 'kubesphere',
      client_secret: 'kubesphere',
    });
  });

  it('shares one login among concurrent callers', async () => {
    let logins = 0;
    pool()
      .intercept({ path: '/oauth/token', method: 'POST' })
      .reply(200, () => (logins++, tokenReply('t1')))
      .persist();
    pool()
      .intercept({ path: `${USERS}/a`, method: 'GET' })
      .reply(200, user('a'))
      .times(5);
    const ks = client();
    await Promise.all(Array.from({ length: 5 }, () => ks.getUser('a')));
    expect(logins).toBe(1);
  });

  it('refreshes with the refresh token shortly before expiry', async () => {
    const grants: string[] = [];
    pool()
      .intercept({
        path: '/oauth/token',
        method: 'POST',
        body: (b) => (grants.push(new URLSearchParams(b).get('grant_type')!), true),
      })
      .reply(200, () => tokenReply(`t${grants.length}`, 600))
      .persist();
    pool()
      .intercept({ path: `${USERS}/a`, method: 'GET', headers: { authorization: 'Bearer t1' } })
      .reply(200, user('a'));
    pool()
      .intercept({ path: `${USERS}/a`, method: 'GET', headers: { authorization: 'Bearer t2' } })
      .reply(200, user('a'));
    const ks = client();
    await ks.getUser('a');
    now += 550_000; // inside the last tenth of a 600 s lifetime
    await ks.getUser('a');
    expect(grants).toEqual(['password', 'refresh_token']);
  });

  it('logs in again once after a 401, then succeeds', async () => {
    let logins = 0;
    pool()
      .intercept({ path: '/oauth/token', method: 'POST' })
      .reply(200, () => tokenReply(`t${++logins}`))
      .persist();
    pool()
      .intercept({ path: `${USERS}/a`, method: 'GET', headers: { authorization: 'Bearer t1' } })
      .reply(401, UNAUTHORIZED);
    pool()
      .intercept({ path: `${USERS}/a`, method: 'GET', headers: { authorization: 'Bearer t2' } })
      .reply(200, user('a'));
    await expect(client().getUser('a')).resolves.toMatchObject({ metadata: { name: 'a' } });
    expect(logins).toBe(2);
  });

  it('gives up after the one re-login when the 401 persists', async () => {
    pool().intercept({ path: '/oauth/token', method: 'POST' }).reply(200, tokenReply('t')).persist();
    pool()
      .intercept({ path: `${USERS}/a`, method: 'GET' })
      .reply(401, UNAUTHORIZED)
      .times(2);
    await expect(client().getUser('a')).rejects.toMatchObject({ code: 'KS_UNAUTHORIZED', status: 401 });
    agent.assertNoPendingInterceptors();
  });

  it('never retries a bad password, and keeps it out of the error', async () => {
    let logins = 0;
    pool()
      .intercept({ path: '/oauth/token', method: 'POST' })
      .reply(
        400,
        () => (logins++, { error: 'invalid_grant', error_description: `Invalid username or password. ${PASSWORD}` }),
      )
      .persist();
    const error = (await client()
      .getUser('a')
      .catch((e: unknown) => e)) as KubeSphereError;
    expect(error.code).toBe('KS_LOGIN_FAILED');
    expect(error.message).not.toContain(PASSWORD);
    expect(logins).toBe(1);
  });

  it('reports the login lockout as its own code', async () => {
    pool()
      .intercept({ path: '/oauth/token', method: 'POST' })
      .reply(429, { error: 'invalid_grant', error_description: 'Rate limit exceeded.' });
    await expect(client().getUser('a')).rejects.toMatchObject({ code: 'KS_LOCKED_OUT', status: 429 });
  });

  it('uses a ready bearer token without logging in, and cannot renew it', async () => {
    pool()
      .intercept({ path: `${USERS}/a`, method: 'GET', headers: { authorization: 'Bearer ready' } })
      .reply(401, {
        kind: 'Status',
        status: 'Failure',
        message: 'token is expired',
        reason: 'Unauthorized',
        code: 401,
      });
    const error = (await client({ token: 'ready' })
      .getUser('a')
      .catch((e: unknown) => e)) as KubeSphereError;
    expect(error.code).toBe('KS_UNAUTHORIZED');
    expect(error.message).not.toContain('ready');
  });
});

describe('requests and answers', () => {
  beforeEach(() => {
    pool().intercept({ path: '/oauth/token', method: 'POST' }).reply(200, tokenReply('t')).persist();
  });

  it('scrubs the password the server quotes back in a validation error', async () => {
    pool()
      .intercept({ path: USERS, method: 'POST' })
      .reply(422, `User.iam.kubesphere.io "bob" is invalid: spec.password: Invalid value: "weakpass": should match\n`, {
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      });
    const error = (await client()
      .createUser({ name: 'bob', email: 'b@x.io', password: 'weakpass' })
      .catch((e: unknown) => e)) as KubeSphereError;
    expect(error.code).toBe('KS_INVALID');
    expect(error.message).toContain('[REDACTED]');
    expect(error.message).not.toContain('weakpass');
  });

  it('sends the console-shaped create bodies', async () => {
    let sent: unknown;
    pool()
      .intercept({
        path: '/clusters/member1/kapis/tenant.kubesphere.io/v1beta1/workspaces/ws1/namespaces',
        method: 'POST',
        body: (b) => ((sent = JSON.parse(b)), true),
      })
      .reply(200, { metadata: { name: 'p1' }, status: { phase: 'Active' } });
    await client().createProject({ workspace: 'ws1', name: 'p1', cluster: 'member1', creator: 'alice' });
    expect(sent).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: 'p1',
        labels: { 'kubesphere.io/workspace': 'ws1', 'kubesphere.io/managed': 'true' },
        annotations: { 'kubesphere.io/creator': 'alice' },
      },
    });
  });

  it('reads items: null as an empty list and lacks of apiVersion/kind as fine', async () => {
    pool()
      .intercept({ path: '/kapis/iam.kubesphere.io/v1beta1/workspaces/ws1/workspacemembers?names=zed', method: 'GET' })
      .reply(200, { items: null, totalItems: 0 });
    await expect(client().listWorkspaceMembers('ws1', { names: ['zed'] })).resolves.toEqual({
      items: [],
      totalItems: 0,
    });
  });

  it('rejects an answer of the wrong shape with KS_BAD_RESPONSE naming the field', async () => {
    pool()
      .intercept({ path: `${USERS}/a`, method: 'GET' })
      .reply(200, { metadata: { name: 7 } });
    await expect(client().getUser('a')).rejects.toMatchObject({
      code: 'KS_BAD_RESPONSE',
      message: expect.stringContaining('metadata.name'),
    });
  });

  it('maps a reset connection to KS_NETWORK', async () => {
    pool()
      .intercept({ path: `${USERS}/a`, method: 'GET' })
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    await expect(client().getUser('a')).rejects.toMatchObject({ code: 'KS_NETWORK' });
  });
});

describe('transport answer handling', () => {
  it('refuses an answer over the size limit instead of holding it', async () => {
    pool()
      .intercept({ path: USERS, method: 'GET' })
      .reply(200, JSON.stringify({ items: Array.from({ length: 100 }, (_, i) => user(`u${i}`)), totalItems: 100 }));
    const transport = new Transport({ baseUrl: ORIGIN, dispatcher: agent, maxResponseBytes: 1000 });
    const error = (await transport.send({ method: 'GET', path: USERS }).catch((e: unknown) => e)) as KubeSphereError;
    expect(error.code).toBe('KS_BAD_RESPONSE');
    expect(error.message).toMatch(/larger than 1000 bytes/);
  });

  it('reads an answer that arrives in pieces, without its byte order mark', async () => {
    const body = JSON.stringify(user('ünïcødé-alice'));
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)]);
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // Split inside a multi-byte character: decoding must wait for the whole answer.
      const cut = bytes.indexOf(Buffer.from('ü')) + 1;
      res.write(bytes.subarray(0, cut));
      setTimeout(() => res.end(bytes.subarray(cut)), 20);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const transport = new Transport({ baseUrl: `http://127.0.0.1:${port}` });
    const small = new Transport({ baseUrl: `http://127.0.0.1:${port}`, maxResponseBytes: 10 });
    try {
      const answer = await transport.send({ method: 'GET', path: `${USERS}/x` });
      expect(answer.status).toBe(200);
      expect(answer.contentType).toBe('application/json');
      expect(answer.text).toBe(body);
      // Over real HTTP too, an oversized answer is cut off, and the pool still serves the next request.
      await expect(small.send({ method: 'GET', path: `${USERS}/x` })).rejects.toMatchObject({
        code: 'KS_BAD_RESPONSE',
      });
      expect((await transport.send({ method: 'GET', path: `${USERS}/x` })).text).toBe(body);
    } finally {
      await transport.close();
      await small.close();
      server.close();
    }
  });
});

describe('input validation happens before any request', () => {
  it.each([
    ['empty user name', (ks: KubeSphereClient) => ks.getUser(''), /getUser: input must not be empty/],
    [
      'wrong type',
      (ks: KubeSphereClient) => ks.createUser({ name: 42 as unknown as string }),
      /createUser: name must be a string/,
    ],
    ['slash in a name', (ks: KubeSphereClient) => ks.getWorkspace('a/b'), /must not contain "\/"/],
    [
      'no members',
      (ks: KubeSphereClient) => ks.addWorkspaceMembers('ws1', []),
      /members must list at least one member/,
    ],
    [
      'update without resourceVersion',
      (ks: KubeSphereClient) => ks.updateUser({ metadata: { name: 'a' } }),
      /updateUser: metadata.resourceVersion/,
    ],
    [
      'empty project name',
      (ks: KubeSphereClient) => ks.createProject({ workspace: 'ws', name: '' }),
      /createProject: name must not be empty/,
    ],
  ])('%s', async (_label, call, message) => {
    const error = (await call(client()).catch((e: unknown) => e)) as KubeSphereError;
    expect(error.code).toBe('KS_BAD_INPUT');
    expect(error.message).toMatch(message);
    agent.assertNoPendingInterceptors();
  });

  it('refuses a base URL with credentials in it', () => {
    expect(() => new KubeSphereClient({ baseUrl: 'http://u:p@ks', credentials: { token: 't' } })).toThrow(
      /must not carry credentials/,
    );
  });
});
