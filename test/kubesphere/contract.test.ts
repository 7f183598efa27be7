import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeSphereClient } from '../../src/kubesphere/client.js';
import type { KubeSphereError } from '../../src/kubesphere/errors.js';
import {
  ADMIN_PASSWORD,
  OPS_ADMIN,
  eventually,
  sleep,
  startEmulator,
  type EmulatorHarness,
} from '../helpers/emulator.js';

// One emulator for the file; every test uses its own names so they do not interfere.
let h: EmulatorHarness;
let adminToken: string;
const IAM = '/kapis/iam.kubesphere.io/v1beta1';
const TENANT = '/kapis/tenant.kubesphere.io/v1beta1';

beforeAll(async () => {
  h = await startEmulator({ clusters: ['host', 'member1', 'member2:not-ready'], oauth: { lockoutMaxTries: 10 } });
  adminToken = await h.token();
});
afterAll(async () => {
  await h.close();
});

const authed = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${adminToken}`, ...extra });
const postJson = (path: string, body: unknown) =>
  h.http(path, { method: 'POST', headers: authed({ 'content-type': 'application/json' }), body: JSON.stringify(body) });
const login = (username: string, password: string) => h.login(username, password);
const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (e: KubeSphereError) => e.code,
  );

async function activeUser(name: string, password = 'Passw0rd1', globalRole = 'platform-regular') {
  await h.admin.createUser({ name, email: `${name}@example.com`, password, globalRole });
  await eventually(async () => expect((await h.admin.getUser(name)).status?.state).toBe('Active'));
}

async function readyWorkspace(name: string, manager?: string) {
  await h.admin.createWorkspace({ name, manager, clusters: ['host'] });
  await eventually(() => expect(h.emulator.snapshot().workspaceRoles[`${name}-viewer`]).toBe(name));
}

describe('§12.1–3 OAuth', () => {
  it('1: password grant returns a Bearer pair with no-store caching', async () => {
    const res = await login('admin', ADMIN_PASSWORD);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['access_token', 'token_type', 'refresh_token', 'expires_in']);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 7200 });
    // HS256 JWT with KubeSphere's claims
    const claims = JSON.parse(Buffer.from(String(body.access_token).split('.')[1]!, 'base64url').toString());
    expect(claims).toMatchObject({ sub: 'admin', username: 'admin', token_type: 'access_token' });
  });

  it('2: a wrong password and an unknown user get the same invalid_grant', async () => {
    for (const [user, pw] of [
      ['admin', 'wrong'],
      ['nobody-at-all', 'x'],
    ]) {
      const res = await login(user!, pw!);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'invalid_grant', error_description: 'Invalid username or password.' });
    }
  });

  it('logs in by email address too', async () => {
    expect((await login('admin@kubesphere.io', ADMIN_PASSWORD)).status).toBe(200);
  });

  it('3: ten failures lock the account: 429 even with the right password, no Retry-After', async () => {
    await activeUser('locky');
    for (let i = 0; i < 10; i++) expect((await login('locky', 'Wrong-pass1')).status).toBe(400);
    const res = await login('locky', 'Passw0rd1');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(await res.json()).toEqual({ error: 'invalid_grant', error_description: 'Rate limit exceeded.' });
    expect((await h.admin.getUser('locky')).status?.state).toBe('AuthLimitExceeded');
    const client = new KubeSphereClient({
      baseUrl: h.emulator.url,
      credentials: { username: 'locky', password: 'Passw0rd1' },
    });
    await expect(codeOf(client.getUser('locky'))).resolves.toBe('KS_LOCKED_OUT');
    await client.close();
  });

  it('refresh grant gives a new pair; an access token used as refresh token is refused', async () => {
    const first = (await (await login('admin', ADMIN_PASSWORD)).json()) as {
      access_token: string;
      refresh_token: string;
    };
    const refresh = (token: string) =>
      h.http('/oauth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: token,
          client_id: 'kubesphere',
          client_secret: 'kubesphere',
        }),
      });
    expect((await refresh(first.refresh_token)).status).toBe(200);
    const bad = await refresh(first.access_token);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'The refresh token is invalid or expired.',
    });
  });

  it('checks the OAuth client and grant type', async () => {
    const form = (fields: Record<string, string>) =>
      h.http('/oauth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields),
      });
    const unknownClient = await form({
      grant_type: 'password',
      username: 'admin',
      password: ADMIN_PASSWORD,
      client_id: 'x',
      client_secret: 'y',
    });
    expect([unknownClient.status, ((await unknownClient.json()) as { error: string }).error]).toEqual([
      400,
      'invalid_client',
    ]);
    const badSecret = await form({
      grant_type: 'password',
      username: 'admin',
      password: ADMIN_PASSWORD,
      client_id: 'kubesphere',
      client_secret: 'y',
    });
    expect([badSecret.status, ((await badSecret.json()) as { error: string }).error]).toEqual([
      401,
      'unauthorized_client',
    ]);
    const badGrant = await form({
      grant_type: 'client_credentials',
      client_id: 'kubesphere',
      client_secret: 'kubesphere',
    });
    expect([badGrant.status, ((await badGrant.json()) as { error: string }).error]).toEqual([
      400,
      'unsupported_grant_type',
    ]);
  });
});

describe('§12.4–5 authentication and error bodies', () => {
  it('4: no Authorization header is 403 Status; a bad token is 401 Status', async () => {
    const anonymous = await h.http(`${IAM}/users`);
    expect(anonymous.status).toBe(403);
    expect(await anonymous.json()).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'Forbidden',
      code: 403,
    });
    const bad = await h.http(`${IAM}/users`, { headers: { authorization: 'Bearer nonsense' } });
    expect(bad.status).toBe(401);
    const body = (await bad.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      kind: 'Status',
      reason: 'Unauthorized',
      code: 401,
      message: 'token not found in cache',
    });
    expect(body.details).toBeUndefined();
  });

  it('5: handler errors are text/plain with a trailing newline', async () => {
    await h.admin.createUser({ name: 'dup5', email: 'dup5@example.com' });
    const res = await postJson(`${IAM}/users`, { metadata: { name: 'dup5' }, spec: { email: 'dup5@example.com' } });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toBe('users.iam.kubesphere.io "dup5" already exists\n');
    await expect(codeOf(h.admin.createUser({ name: 'dup5', email: 'dup5@example.com' }))).resolves.toBe(
      'KS_ALREADY_EXISTS',
    );
  });

  it('a non-admin is forbidden (Status JSON) and may read only their own user', async () => {
    await activeUser('plain4');
    const client = new KubeSphereClient({
      baseUrl: h.emulator.url,
      credentials: { username: 'plain4', password: 'Passw0rd1' },
    });
    await expect(client.getUser('plain4')).resolves.toMatchObject({ metadata: { name: 'plain4' } });
    const error = (await client.listUsers().catch((e: unknown) => e)) as KubeSphereError;
    expect(error.code).toBe('KS_FORBIDDEN');
    expect(error.serverMessage).toBe(
      'users.iam.kubesphere.io is forbidden: User "plain4" cannot list resource "users" in API group "iam.kubesphere.io" at the cluster scope',
    );
    await client.close();
  });

  it('content type, malformed JSON, unknown routes and wrong methods get go-restful answers', async () => {
    const noType = await h.http(`${IAM}/users`, { method: 'POST', headers: authed(), body: '{}' });
    expect([noType.status, await noType.text()]).toEqual([
      400,
      '[ServiceError:400] Unable to unmarshal content of type:text/plain;charset=UTF-8\n',
    ]);
    const malformed = await h.http(`${IAM}/users`, {
      method: 'POST',
      headers: authed({ 'content-type': 'application/json' }),
      body: '{nope',
    });
    expect([malformed.status, await malformed.text()]).toEqual([
      400,
      "invalid character '{' looking for beginning of value\n",
    ]);
    const wrongType = await postJson(`${IAM}/users`, ['x']);
    expect(await wrongType.text()).toBe('json: cannot unmarshal array into Go value of type v1beta1.User\n');
    const unknown = await h.http(`${IAM}/nothing-here`, { headers: authed() });
    expect([unknown.status, await unknown.text()]).toEqual([404, '404: Page Not Found']);
    const method = await h.http(`${IAM}/users`, {
      method: 'PUT',
      headers: authed({ 'content-type': 'application/json' }),
      body: '{}',
    });
    expect([method.status, await method.text()]).toEqual([405, '405: Method Not Allowed']);
  });
});

describe('§12.6–11 users', () => {
  it('6: invalid names get 422 with kube-apiserver text; dots are fine', async () => {
    const upper = await postJson(`${IAM}/users`, { metadata: { name: 'Wqwe' }, spec: { email: '' } });
    expect(upper.status).toBe(422);
    expect(await upper.text()).toMatch(
      /^User\.iam\.kubesphere\.io "Wqwe" is invalid: metadata\.name: Invalid value: "Wqwe": a lowercase RFC 1123 subdomain/,
    );
    expect((await postJson(`${IAM}/users`, { metadata: { name: 'a@b' }, spec: {} })).status).toBe(422);
    const empty = await postJson(`${IAM}/users`, { metadata: { name: '' }, spec: {} });
    expect(await empty.text()).toBe(
      'User.iam.kubesphere.io "" is invalid: metadata.name: Required value: name or generateName is required\n',
    );
    await expect(h.admin.createUser({ name: 'a.b6', email: '' })).resolves.toMatchObject({
      metadata: { name: 'a.b6' },
    });
    await expect(codeOf(h.admin.createUser({ name: 'Bad6' }))).resolves.toBe('KS_INVALID');
  });

  it('7: password rules are 8–64 chars with lower, upper and digit; no special character needed', async () => {
    for (const bad of ['Sh0rt', 'alllowercase1', 'ALLUPPER1', 'NoDigitsHere', `A1a${'x'.repeat(62)}`]) {
      const res = await postJson(`${IAM}/users`, { metadata: { name: 'pw7' }, spec: { email: '', password: bad } });
      expect(res.status, bad).toBe(422);
    }
    await expect(h.admin.createUser({ name: 'pw7', password: 'NoSpecial1' })).resolves.toBeTruthy();
  });

  it('8: the email webhook denies bad and taken addresses with 403; empty is accepted', async () => {
    const bad = await postJson(`${IAM}/users`, { metadata: { name: 'em8' }, spec: { email: 'bad@' } });
    expect([bad.status, await bad.text()]).toEqual([
      403,
      'admission webhook "users.iam.kubesphere.io" denied the request: invalid email address:bad@\n',
    ]);
    await h.admin.createUser({ name: 'em8a', email: 'shared8@example.com' });
    const taken = await postJson(`${IAM}/users`, {
      metadata: { name: 'em8b' },
      spec: { email: 'shared8@example.com' },
    });
    expect(await taken.text()).toBe(
      'admission webhook "users.iam.kubesphere.io" denied the request: user email: shared8@example.com already exists\n',
    );
    await expect(codeOf(h.admin.createUser({ name: 'em8c', email: 'shared8@example.com' }))).resolves.toBe(
      'KS_EMAIL_REJECTED',
    );
    await expect(h.admin.createUser({ name: 'em8d', email: '' })).resolves.toBeTruthy();
  });

  it('9: passwords never come back; Active only after a delay; login until then is "Account suspended."', async () => {
    const created = await h.admin.createUser({ name: 'new9', email: 'new9@example.com', password: 'Passw0rd1' });
    expect(JSON.stringify(created)).not.toContain('Passw0rd1');
    expect(created.spec).not.toHaveProperty('password');
    expect(created.status?.state).toBeUndefined();
    const early = await login('new9', 'Passw0rd1');
    expect([early.status, await early.json()]).toEqual([
      400,
      { error: 'invalid_grant', error_description: 'Account suspended.' },
    ]);
    await eventually(async () => expect((await h.admin.getUser('new9')).status?.state).toBe('Active'));
    const list = await h.http(`${IAM}/users?name=new9`, { headers: authed() });
    expect(await list.text()).not.toMatch(/"password"|Passw0rd1/);
    expect((await login('new9', 'Passw0rd1')).status).toBe(200);
  });

  it('10: a global role annotation creates <user>-<role>; an unknown role is 404 and creates nothing', async () => {
    await h.admin.createUser({ name: 'gr10', email: '', globalRole: 'platform-self-provisioner' });
    expect(h.emulator.snapshot().globalRoleBindings['gr10-platform-self-provisioner']).toMatchObject({
      user: 'gr10',
      role: 'platform-self-provisioner',
    });
    const res = await postJson(`${IAM}/users`, {
      metadata: { name: 'gr10b', annotations: { 'iam.kubesphere.io/globalrole': 'custom-role' } },
      spec: {},
    });
    expect([res.status, await res.text()]).toEqual([404, 'GlobalRole.iam.kubesphere.io "custom-role" not found\n']);
    await expect(codeOf(h.admin.getUser('gr10b'))).resolves.toBe('KS_NOT_FOUND');
  });

  it('11: PUT needs resourceVersion (422), refuses a stale one (409) and replaces the global role binding', async () => {
    await h.admin.createUser({ name: 'put11', email: 'put11@example.com', globalRole: 'platform-regular' });
    const current = await h.admin.getUser('put11');
    const { resourceVersion: _rv, ...withoutVersion } = current.metadata;
    const missing = await h.http(`${IAM}/users/put11`, {
      method: 'PUT',
      headers: authed({ 'content-type': 'application/json' }),
      body: JSON.stringify({ ...current, metadata: withoutVersion }),
    });
    expect([missing.status, await missing.text()]).toEqual([
      422,
      'users.iam.kubesphere.io "put11" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update\n',
    ]);
    await h.admin.setUserGlobalRole('put11', 'platform-self-provisioner');
    const bindings = Object.values(h.emulator.snapshot().globalRoleBindings).filter((b) => b.user === 'put11');
    expect(bindings.map((b) => b.name)).toEqual(['put11-platform-self-provisioner']);
    await expect(codeOf(h.admin.updateUser(current))).resolves.toBe('KS_STALE');
    const mismatch = await h.http(`${IAM}/users/put11`, {
      method: 'PUT',
      headers: authed({ 'content-type': 'application/json' }),
      body: JSON.stringify({ metadata: { name: 'other', resourceVersion: '1' } }),
    });
    expect(await mismatch.text()).toBe('the name of the object (other) does not match the name on the URL (put11)\n');
  });

  it('a user may not change their own global role (403 text, other changes kept)', async () => {
    await activeUser('self11');
    const client = new KubeSphereClient({
      baseUrl: h.emulator.url,
      credentials: { username: 'self11', password: 'Passw0rd1' },
    });
    const error = (await client
      .setUserGlobalRole('self11', 'platform-admin')
      .catch((e: unknown) => e)) as KubeSphereError;
    expect(error.code).toBe('KS_FORBIDDEN');
    expect(error.serverMessage).toBe(
      'user.iam.kubesphere.io "self11" is forbidden: update global role binding is not allowed',
    );
    expect(h.emulator.snapshot().globalRoleBindings['self11-platform-regular']).toBeTruthy();
    await client.close();
  });
});

describe('§12.12–15 workspaces and projects', () => {
  it('12: an existing workspace is 400 (not 409); an unknown placement cluster is 404', async () => {
    await h.admin.createWorkspace({ name: 'ws12', clusters: ['host'] });
    const dup = await postJson(`${TENANT}/workspacetemplates`, { metadata: { name: 'ws12' }, spec: {} });
    expect([dup.status, await dup.text()]).toEqual([
      400,
      'workspacetemplates.tenant.kubesphere.io "ws12" already exists\n',
    ]);
    await expect(codeOf(h.admin.createWorkspace({ name: 'ws12' }))).resolves.toBe('KS_ALREADY_EXISTS');
    const unknown = await postJson(`${TENANT}/workspacetemplates`, {
      metadata: { name: 'ws12b' },
      spec: { placement: { clusters: [{ name: 'c9' }] } },
    });
    expect([unknown.status, await unknown.text()]).toEqual([404, 'Cluster.cluster.kubesphere.io "c9" not found\n']);
    const alias = await postJson(`${TENANT}/workspaces`, { metadata: { name: 'ws12c' }, spec: {} });
    expect(alias.status).toBe(200);
  });

  it('13: roles and the manager binding named <ws>-admin appear asynchronously; members 404 until then', async () => {
    await h.admin.createUser({ name: 'mgr13', email: '' });
    await h.admin.createWorkspace({ name: 'ws13', manager: 'mgr13', clusters: ['host'] });
    await expect(
      codeOf(h.admin.addWorkspaceMembers('ws13', [{ username: 'mgr13', roleRef: 'ws13-viewer' }])),
    ).resolves.toBe('KS_NOT_FOUND');
    await eventually(() => {
      const snap = h.emulator.snapshot();
      expect(
        Object.keys(snap.workspaceRoles)
          .filter((r) => snap.workspaceRoles[r] === 'ws13')
          .sort(),
      ).toEqual(['ws13-admin', 'ws13-regular', 'ws13-self-provisioner', 'ws13-viewer']);
      expect(snap.workspaceRoleBindings['ws13-admin']).toMatchObject({ user: 'mgr13', role: 'ws13-admin' });
    });
    // Re-inviting the manager as admin is a no-op that keeps the binding's name.
    await h.admin.addWorkspaceMembers('ws13', [{ username: 'mgr13', roleRef: 'ws13-admin' }]);
    expect(h.emulator.snapshot().workspaceRoleBindings['ws13-admin']).toBeTruthy();
  });

  it('long workspace names get hashed role names', async () => {
    const name = `w${'x'.repeat(50)}`;
    await h.admin.createWorkspace({ name });
    await eventually(() => {
      const roles = Object.entries(h.emulator.snapshot().workspaceRoles)
        .filter(([, ws]) => ws === name)
        .map(([r]) => r);
      expect(roles).toContain(`${name}-admin`);
      expect(roles.find((r) => r.startsWith('self-provisioner.'))).toMatch(/^self-provisioner\.[0-9a-f]+$/);
    });
  });

  it('14: a project in a missing workspace is created with the forced label; a duplicate is 400', async () => {
    const res = await postJson(`${TENANT}/workspaces/ghost14/namespaces`, {
      metadata: { name: 'p14', labels: { 'kubesphere.io/workspace': 'other' } },
    });
    expect(res.status).toBe(200);
    expect(
      ((await res.json()) as { metadata: { labels: Record<string, string> } }).metadata.labels[
        'kubesphere.io/workspace'
      ],
    ).toBe('ghost14');
    const dup = await postJson(`${TENANT}/workspaces/ghost14/namespaces`, { metadata: { name: 'p14' } });
    expect([dup.status, await dup.text()]).toEqual([400, 'namespaces "p14" already exists\n']);
    await expect(codeOf(h.admin.createProject({ workspace: 'ghost14', name: 'p14' }))).resolves.toBe(
      'KS_ALREADY_EXISTS',
    );
    const bad = await postJson(`${TENANT}/workspaces/ghost14/namespaces`, { metadata: { name: 'P14' } });
    expect(await bad.text()).toBe(
      `Namespace "P14" is invalid: metadata.name: Invalid value: "P14": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')\n`,
    );
    const otherWs = await h.http(`${TENANT}/workspaces/elsewhere/namespaces/p14`, { headers: authed() });
    expect([otherWs.status, await otherWs.text()]).toEqual([404, 'namespace "p14" not found\n']);
    const none = await h.http(`${TENANT}/workspaces/ghost14/namespaces/nope14`, { headers: authed() });
    expect(await none.text()).toBe('Namespace "nope14" not found\n');
  });

  it('15: project roles only for managed namespaces; the creator gets <creator>-admin', async () => {
    await h.admin.createProject({ workspace: 'ws15', name: 'managed15', creator: 'alice15' });
    await postJson(`${TENANT}/workspaces/ws15/namespaces`, { metadata: { name: 'plain15' } });
    await eventually(() => {
      const snap = h.emulator.snapshot();
      expect(snap.roles.host?.managed15).toEqual(['admin', 'operator', 'viewer']);
      expect(snap.roleBindings.host?.managed15?.['alice15-admin']).toMatchObject({ user: 'alice15', role: 'admin' });
    });
    await sleep(120);
    const snap = h.emulator.snapshot();
    expect(snap.roles.host?.plain15).toBeUndefined();
    expect(Object.keys(snap.roleBindings.host?.plain15 ?? {})).toEqual([]);
    await expect(
      codeOf(h.admin.addProjectMembers({ namespace: 'plain15' }, [{ username: 'x', roleRef: 'viewer' }])),
    ).resolves.toBe('KS_NOT_FOUND');
  });
});

describe('§12.16–18 members', () => {
  it('16: POST echoes, creates <user>-<role>, and a second role replaces the first', async () => {
    await readyWorkspace('ws16');
    const echo = await h.admin.addWorkspaceMembers('ws16', [{ username: 'ghost-user', roleRef: 'ws16-viewer' }]);
    expect(echo).toEqual([{ username: 'ghost-user', roleRef: 'ws16-viewer' }]);
    expect(h.emulator.snapshot().workspaceRoleBindings['ghost-user-ws16-viewer']).toBeTruthy();
    await h.admin.addWorkspaceMembers('ws16', [{ username: 'ghost-user', roleRef: 'ws16-regular' }]);
    const mine = Object.values(h.emulator.snapshot().workspaceRoleBindings).filter((b) => b.user === 'ghost-user');
    expect(mine.map((b) => b.name)).toEqual(['ghost-user-ws16-regular']);
    expect(await h.admin.workspaceRolesOf('ws16', 'ghost-user')).toEqual(['ws16-regular']);
  });

  it('a role of another workspace is 404 with the lower-case kind; processing stops at the first error', async () => {
    await readyWorkspace('ws16b');
    await readyWorkspace('ws16c');
    const res = await postJson(`${IAM}/workspaces/ws16b/workspacemembers`, [
      { username: 'first', roleRef: 'ws16b-viewer' },
      { username: 'second', roleRef: 'ws16c-admin' },
      { username: 'third', roleRef: 'ws16b-viewer' },
    ]);
    expect([res.status, await res.text()]).toEqual([404, 'workspacerole.iam.kubesphere.io "ws16c-admin" not found\n']);
    const users = Object.values(h.emulator.snapshot().workspaceRoleBindings)
      .filter((b) => b.scope === 'ws16b')
      .map((b) => b.user);
    expect(users).toEqual(['first']);
  });

  it('17: PUT of a non-member is 400 "member … not exist"; of a member 200 success', async () => {
    await readyWorkspace('ws17');
    await expect(
      h.admin.updateWorkspaceMember('ws17', { username: 'bob17', roleRef: 'ws17-viewer' }),
    ).rejects.toMatchObject({
      code: 'KS_INVALID',
      serverMessage: 'member bob17 not exist',
    });
    await h.admin.addWorkspaceMembers('ws17', [{ username: 'bob17', roleRef: 'ws17-regular' }]);
    const res = await h.http(`${IAM}/workspaces/ws17/workspacemembers/bob17`, {
      method: 'PUT',
      headers: authed({ 'content-type': 'application/json' }),
      body: JSON.stringify({ username: 'bob17', roleRef: 'ws17-viewer' }),
    });
    expect([res.status, await res.json()]).toEqual([200, { message: 'success' }]);
    const wrongName = await h.http(`${IAM}/workspaces/ws17/workspacemembers/bob17`, {
      method: 'PUT',
      headers: authed({ 'content-type': 'application/json' }),
      body: JSON.stringify({ username: 'eve', roleRef: 'ws17-viewer' }),
    });
    expect(await wrongName.text()).toBe('incorrect username eve, the username must equal to the member\n');
  });

  it('18: GET lists stubs; a filter that matches nothing answers items: null', async () => {
    await readyWorkspace('ws18');
    await h.admin.addWorkspaceMembers('ws18', [{ username: 'bob18', roleRef: 'ws18-regular' }]);
    const res = await h.http(`${IAM}/workspaces/ws18/workspacemembers`, { headers: authed() });
    expect(await res.json()).toEqual({
      items: [
        {
          metadata: {
            name: 'bob18',
            creationTimestamp: null,
            annotations: { 'iam.kubesphere.io/workspacerole': 'ws18-regular' },
          },
          spec: { email: '' },
          status: {},
        },
      ],
      totalItems: 1,
    });
    const none = await h.http(`${IAM}/workspaces/ws18/workspacemembers?name=zzz`, { headers: authed() });
    expect(await none.json()).toEqual({ items: null, totalItems: 0 });
    const empty = await h.http(`${IAM}/workspaces/nothing18/workspacemembers`, { headers: authed() });
    expect(await empty.json()).toEqual({ items: [], totalItems: 0 });
    const byRole = await h.admin.listWorkspaceMembers('ws18', { workspacerole: 'ws18-regular' });
    expect(byRole.items.map((u) => u.metadata.name)).toEqual(['bob18']);
  });

  it('GET one member: 400 for a non-member, 404 for a binding without a user, else the user with its role', async () => {
    await readyWorkspace('ws18b');
    await h.admin.createUser({ name: 'real18', email: 'real18@example.com' });
    await h.admin.addWorkspaceMembers('ws18b', [
      { username: 'real18', roleRef: 'ws18b-viewer' },
      { username: 'ghost18', roleRef: 'ws18b-viewer' },
    ]);
    const member = await h.admin.getWorkspaceMember('ws18b', 'real18');
    expect(member.metadata.annotations?.['iam.kubesphere.io/workspacerole']).toBe('ws18b-viewer');
    await expect(codeOf(h.admin.getWorkspaceMember('ws18b', 'ghost18'))).resolves.toBe('KS_NOT_FOUND');
    await expect(codeOf(h.admin.getWorkspaceMember('ws18b', 'stranger'))).resolves.toBe('KS_INVALID');
  });

  it('project members: add, replace, list with ?role=, no GET-one route', async () => {
    await h.admin.createProject({ workspace: 'ws18c', name: 'p18c' });
    await eventually(() => expect(h.emulator.snapshot().roles.host?.p18c).toBeTruthy());
    await h.admin.addProjectMembers({ namespace: 'p18c' }, [{ username: 'bob', roleRef: 'viewer' }]);
    await h.admin.addProjectMembers({ namespace: 'p18c' }, [{ username: 'bob', roleRef: 'operator' }]);
    expect(Object.keys(h.emulator.snapshot().roleBindings.host?.p18c ?? {})).toEqual(['bob-operator']);
    expect(await h.admin.projectRolesOf({ namespace: 'p18c' }, 'bob')).toEqual(['operator']);
    expect((await h.admin.listProjectMembers({ namespace: 'p18c' }, { role: 'viewer' })).items).toEqual([]);
    const getOne = await h.http(`${IAM}/namespaces/p18c/namespacemembers/bob`, { headers: authed() });
    expect([getOne.status, await getOne.text()]).toEqual([404, '404: Page Not Found']);
    await h.admin.updateProjectMember({ namespace: 'p18c' }, { username: 'bob', roleRef: 'admin' });
    expect(await h.admin.projectRolesOf({ namespace: 'p18c' }, 'bob')).toEqual(['admin']);
  });
});

describe('§12.19–20 lists and clusters', () => {
  it('19: paging, sorting, and name filters', async () => {
    for (const name of ['l19-a', 'l19-b', 'l19-c'])
      await h.admin.createWorkspace({
        name,
        annotations: { 'kubesphere.io/alias-name': `Alias ${name.toUpperCase()}` },
      });
    const byName = await h.admin.listWorkspaces({ name: 'l19-', sortBy: 'name', ascending: true, limit: 2, page: 1 });
    expect(byName.totalItems).toBe(3);
    expect(byName.items.map((w) => w.metadata.name)).toEqual(['l19-a', 'l19-b']);
    const page2 = await h.admin.listWorkspaces({ name: 'l19-', sortBy: 'name', ascending: true, limit: 2, page: 2 });
    expect(page2.items.map((w) => w.metadata.name)).toEqual(['l19-c']);
    const past = await h.admin.listWorkspaces({ name: 'l19-', limit: 2, page: 9 });
    expect([past.items.length, past.totalItems]).toEqual([0, 3]);
    const newestFirst = await h.admin.listWorkspaces({ name: 'l19-' });
    expect(newestFirst.items.map((w) => w.metadata.name)).toEqual(['l19-c', 'l19-b', 'l19-a']);
    const alias = await h.admin.listWorkspaces({ name: 'alias l19-b' });
    expect(alias.items.map((w) => w.metadata.name)).toEqual(['l19-b']);
    const exact = await h.admin.listWorkspaces({ names: ['l19-a', 'l19-c'] });
    expect(exact.totalItems).toBe(2);
    const email = await h.admin.listUsers({ fieldSelector: 'spec.email=~ADMIN@kubesphere.io' });
    expect(email.items.map((u) => u.metadata.name)).toEqual(['admin']);
    expect(email.items[0]).toMatchObject({ apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'User' });
    const byRole = await h.admin.listUsers({ globalrole: 'platform-admin' });
    expect(byRole.items.map((u) => u.metadata.name)).toEqual(['admin', 'ops-admin']);
  });

  it('20: /clusters/host is the same as no prefix; unknown and not-ready clusters get ErrStatus', async () => {
    const plain = await h.http(`${IAM}/users/admin`, { headers: authed() });
    const prefixed = await h.http(`/clusters/host${IAM}/users/admin`, { headers: authed() });
    const inner = await h.http(`/kapis/clusters/host/iam.kubesphere.io/v1beta1/users/admin`, { headers: authed() });
    expect(await prefixed.json()).toEqual(await plain.json());
    expect(inner.status).toBe(200);
    const unknown = await h.http(`/clusters/unknown${IAM}/users`, { headers: authed() });
    expect([unknown.status, await unknown.json()]).toEqual([
      400,
      {
        ErrStatus: {
          metadata: {},
          status: 'Failure',
          message: 'cluster unknown not exists',
          reason: 'BadRequest',
          code: 400,
        },
      },
    ]);
    await expect(codeOf(h.admin.createProject({ workspace: 'w20', name: 'p20', cluster: 'unknown' }))).resolves.toBe(
      'KS_CLUSTER_UNKNOWN',
    );
    await expect(codeOf(h.admin.createProject({ workspace: 'w20', name: 'p20', cluster: 'member2' }))).resolves.toBe(
      'KS_UNAVAILABLE',
    );
  });

  it('projects live per cluster: the same name can exist on host and member1', async () => {
    await h.admin.createProject({ workspace: 'w20b', name: 'p20b' });
    await h.admin.createProject({ workspace: 'w20b', name: 'p20b', cluster: 'member1' });
    await expect(h.admin.getProject({ workspace: 'w20b', name: 'p20b', cluster: 'member1' })).resolves.toMatchObject({
      metadata: { name: 'p20b' },
      status: { phase: 'Active' },
    });
    expect((await h.admin.listProjects({ workspace: 'w20b', cluster: 'member1' })).totalItems).toBe(1);
    const clusters = await h.http(`${TENANT}/workspaces/system-workspace/clusters`, { headers: authed() });
    expect(((await clusters.json()) as { totalItems: number }).totalItems).toBe(3);
  });
});

describe('the seeded install', () => {
  it('has admin (platform-admin, Active) and system-workspace managed by admin', async () => {
    const admin = await h.admin.getUser('admin');
    expect(admin).toMatchObject({
      spec: { email: 'admin@kubesphere.io' },
      status: { state: 'Active' },
      metadata: { annotations: { 'iam.kubesphere.io/globalrole': 'platform-admin' } },
    });
    expect(await h.admin.workspaceRolesOf('system-workspace', 'admin')).toEqual(['system-workspace-admin']);
  });

  it('has ops-admin, a second platform-admin who can approve instead of the worker account', async () => {
    await expect(h.admin.getUser(OPS_ADMIN.username)).resolves.toMatchObject({
      spec: { email: OPS_ADMIN.email },
      status: { state: 'Active' },
      metadata: { annotations: { 'iam.kubesphere.io/globalrole': 'platform-admin' } },
    });
    await expect(h.admin.whoAmI(await h.token(OPS_ADMIN.username, OPS_ADMIN.password))).resolves.toEqual({
      username: OPS_ADMIN.username,
      email: OPS_ADMIN.email,
    });
  });

  it('never received a DELETE or PATCH from the client in this file', () => {
    expect(h.emulator.requests.byMethod.DELETE ?? 0).toBe(0);
    expect(h.emulator.requests.byMethod.PATCH ?? 0).toBe(0);
  });
});
