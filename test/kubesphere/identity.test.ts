import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KS_REASONS, type KubeSphereError } from '../../src/kubesphere/errors.js';
import { loginOnce } from '../../src/kubesphere/login.js';
import { OPS_ADMIN, eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';

let h: EmulatorHarness;
beforeAll(async () => {
  h = await startEmulator({ oauth: { lockoutMaxTries: 3 } });
});
afterAll(async () => {
  await h.close();
});

const TOKEN_ROUTE = 'POST /oauth/token';
const USERINFO_ROUTE = 'GET /oauth/userinfo';
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined as never,
    (e: KubeSphereError) => e,
  );

async function activeUser(name: string, password = 'Passw0rd1', email = `${name}@example.com`) {
  await h.admin.createUser({ name, email, password, globalRole: 'platform-regular' });
  await eventually(async () => expect((await h.admin.getUser(name)).status?.state).toBe('Active'));
}

describe('whoAmI', () => {
  it('asks userinfo with the given token, not the client’s own', async () => {
    const opsToken = await h.token(OPS_ADMIN.username, OPS_ADMIN.password);
    await expect(h.admin.whoAmI(opsToken)).resolves.toEqual({
      username: 'ops-admin',
      email: 'ops-admin@example.com',
    });
    await expect(h.admin.whoAmI(await h.token())).resolves.toEqual({
      username: 'admin',
      email: 'admin@kubesphere.io',
    });
  });

  it('leaves out an empty email', async () => {
    await activeUser('noemail1', 'Passw0rd1', '');
    await expect(h.admin.whoAmI(await h.token('noemail1', 'Passw0rd1'))).resolves.toEqual({ username: 'noemail1' });
  });

  it('maps a refused token to KS_UNAUTHORIZED without quoting it, and never re-logs in for it', async () => {
    await h.admin.getUser('admin'); // the admin client's own login happens first
    const logins = h.count(TOKEN_ROUTE);
    const asked = h.count(USERINFO_ROUTE);
    const error = await failure(h.admin.whoAmI('not-a-real-token-123'));
    expect(error).toMatchObject({ code: 'KS_UNAUTHORIZED', status: 401, reason: 'Unauthorized' });
    expect(error.message).not.toContain('not-a-real-token-123');
    expect(h.count(USERINFO_ROUTE) - asked).toBe(1);
    expect(h.count(TOKEN_ROUTE)).toBe(logins);
  });

  it('refuses an empty or spaced token before any request', async () => {
    const asked = h.count(USERINFO_ROUTE);
    for (const bad of ['', 'Bearer abc', 'a b']) {
      await expect(h.admin.whoAmI(bad)).rejects.toMatchObject({ code: 'KS_BAD_INPUT' });
    }
    expect(h.count(USERINFO_ROUTE)).toBe(asked);
  });
});

describe('loginOnce', () => {
  it('returns a token the API accepts', async () => {
    const result = await loginOnce({
      baseUrl: h.emulator.url,
      username: OPS_ADMIN.username,
      password: OPS_ADMIN.password,
    });
    expect(result.expiresInSeconds).toBe(7200);
    await expect(h.admin.whoAmI(result.accessToken)).resolves.toMatchObject({ username: 'ops-admin' });
  });

  it('makes exactly one request for a wrong password: KS_LOGIN_FAILED, password never in the message', async () => {
    await activeUser('once1');
    const before = h.count(TOKEN_ROUTE);
    const password = 'Wrong-Passw0rd-xyz';
    const error = await failure(loginOnce({ baseUrl: h.emulator.url, username: 'once1', password }));
    expect(error).toMatchObject({ code: 'KS_LOGIN_FAILED', status: 400, reason: 'invalid_grant' });
    expect(error.message).not.toContain(password);
    expect(JSON.stringify(error)).not.toContain(password);
    expect(h.count(TOKEN_ROUTE) - before).toBe(1);
    expect(h.emulator.state.data.loginFailures.once1).toHaveLength(1);
  });

  it('reports a locked account as KS_LOCKED_OUT', async () => {
    await activeUser('once2');
    for (let i = 0; i < 3; i++) expect((await h.login('once2', 'Wrong-pass1')).status).toBe(400);
    const before = h.count(TOKEN_ROUTE);
    const error = await failure(loginOnce({ baseUrl: h.emulator.url, username: 'once2', password: 'Passw0rd1' }));
    expect(error).toMatchObject({ code: 'KS_LOCKED_OUT', status: 429 });
    expect(h.count(TOKEN_ROUTE) - before).toBe(1);
  });

  it('checks its input without quoting the password', async () => {
    const before = h.count(TOKEN_ROUTE);
    const error = await failure(loginOnce({ baseUrl: h.emulator.url, username: '', password: 'Secret-1x' }));
    expect(error.code).toBe('KS_BAD_INPUT');
    expect(error.message).toMatch(/username must not be empty/);
    expect(error.message).not.toContain('Secret-1x');
    expect(h.count(TOKEN_ROUTE)).toBe(before);
  });
});

describe('usersWithGlobalRole', () => {
  it('names the platform-admins, and follows a demotion', async () => {
    await activeUser('pa1');
    await h.admin.setUserGlobalRole('pa1', 'platform-admin');
    expect((await h.admin.usersWithGlobalRole('platform-admin')).sort()).toEqual(['admin', 'ops-admin', 'pa1']);
    await h.admin.setUserGlobalRole('pa1', 'platform-regular');
    expect((await h.admin.usersWithGlobalRole('platform-admin')).sort()).toEqual(['admin', 'ops-admin']);
    expect(await h.admin.usersWithGlobalRole('platform-self-provisioner')).toEqual([]);
    expect(h.count('GET /kapis/iam.kubesphere.io/v1beta1/users')).toBeGreaterThanOrEqual(3);
  });
});

describe('getProject: a namespace of another workspace is told apart by a field', () => {
  it('sets reason in-another-workspace only when the namespace exists elsewhere', async () => {
    await h.admin.createProject({ workspace: 'wsa', name: 'pa' });
    await expect(h.admin.getProject({ workspace: 'wsa', name: 'pa' })).resolves.toMatchObject({
      metadata: { name: 'pa' },
    });
    const elsewhere = await failure(h.admin.getProject({ workspace: 'wsb', name: 'pa' }));
    expect(elsewhere).toMatchObject({
      code: 'KS_NOT_FOUND',
      status: 404,
      reason: KS_REASONS.inAnotherWorkspace,
      serverMessage: 'namespace "pa" not found',
    });
    expect(KS_REASONS.inAnotherWorkspace).toBe('in-another-workspace');
    const missing = await failure(h.admin.getProject({ workspace: 'wsa', name: 'nothing-here' }));
    expect(missing).toMatchObject({
      code: 'KS_NOT_FOUND',
      status: 404,
      serverMessage: 'Namespace "nothing-here" not found',
    });
    expect(missing.reason).toBeUndefined();
  });
});
