import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulator, SEEDED_ACCOUNTS } from '../../src/emulator/server.js';
import { ADMIN_PASSWORD, OPS_ADMIN, eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';

const IAM = '/kapis/iam.kubesphere.io/v1beta1';

let h: EmulatorHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe('§12a GET /oauth/userinfo', () => {
  it('answers the claims of the token holder, read from their User object', async () => {
    h = await startEmulator();
    const res = await h.http('/oauth/userinfo', bearer(await h.token(OPS_ADMIN.username, OPS_ADMIN.password)));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    // Exact body and key order: KubeSphere's token.Claims JSON, empty claims omitted.
    expect(await res.text()).toBe(
      '{"sub":"ops-admin","name":"ops-admin","email":"ops-admin@example.com","preferred_username":"ops-admin"}',
    );
    expect(h.count('GET /oauth/userinfo')).toBe(1);
  });

  it('adds locale from spec.lang and leaves out an empty email', async () => {
    h = await startEmulator();
    const admin = await h.token();
    const create = await h.http(`${IAM}/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'lang1' }, spec: { email: '', lang: 'zh', password: 'Passw0rd1' } }),
    });
    expect(create.status).toBe(200);
    await eventually(async () => expect((await h!.login('lang1', 'Passw0rd1')).status).toBe(200));
    const res = await h.http('/oauth/userinfo', bearer(await h.token('lang1', 'Passw0rd1')));
    expect(await res.json()).toEqual({ sub: 'lang1', name: 'lang1', locale: 'zh', preferred_username: 'lang1' });
  });

  it('refuses a bad, expired or disabled token with the 401 Status of the authentication filter', async () => {
    let now = Date.now();
    h = await startEmulator({ now: () => now });
    const unknown = await h.http('/oauth/userinfo', bearer('nonsense'));
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'token not found in cache',
      reason: 'Unauthorized',
      code: 401,
    });

    const opsToken = await h.token(OPS_ADMIN.username, OPS_ADMIN.password);
    const adminToken = await h.token();
    // Disable ops-admin: its existing token is refused from then on (§1.3).
    const current = (await (await h.http(`${IAM}/users/ops-admin`, bearer(adminToken))).json()) as {
      status: Record<string, unknown>;
    };
    const put = await h.http(`${IAM}/users/ops-admin`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...current, status: { ...current.status, state: 'Disabled' } }),
    });
    expect(put.status).toBe(200);
    const disabled = await h.http('/oauth/userinfo', bearer(opsToken));
    expect([disabled.status, ((await disabled.json()) as { message: string }).message]).toEqual([
      401,
      'account is not active',
    ]);

    now += 7201 * 1000; // past the 2 h access token lifetime
    const expired = await h.http('/oauth/userinfo', bearer(adminToken));
    expect([expired.status, ((await expired.json()) as { reason: string }).reason]).toEqual([401, 'Unauthorized']);
  });

  it('answers a request without a token with the OAuth error login_required, not 403', async () => {
    h = await startEmulator();
    const res = await h.http('/oauth/userinfo');
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toMatchObject({ error: 'login_required' });
  });

  it('serves GET only', async () => {
    h = await startEmulator();
    const res = await h.http('/oauth/userinfo', { method: 'POST', ...bearer(await h.token()) });
    expect([res.status, await res.text()]).toEqual([405, '405: Method Not Allowed']);
  });
});

describe('the seeded accounts', () => {
  it('has ops-admin as a second platform-admin, Active at once, with its own login', async () => {
    h = await startEmulator();
    expect(SEEDED_ACCOUNTS.opsAdmin).toEqual({ ...OPS_ADMIN, globalRole: 'platform-admin' });
    expect(SEEDED_ACCOUNTS.admin).toMatchObject({ username: 'admin', password: ADMIN_PASSWORD });
    const snapshot = h.emulator.snapshot();
    expect(snapshot.users['ops-admin']).toMatchObject({
      spec: { email: 'ops-admin@example.com' },
      status: { state: 'Active' },
      metadata: { annotations: { 'iam.kubesphere.io/globalrole': 'platform-admin' } },
      hasPassword: true,
    });
    expect(snapshot.globalRoleBindings['ops-admin-platform-admin']).toMatchObject({
      user: 'ops-admin',
      role: 'platform-admin',
    });
    // Logged in at once (no controller delay), and a platform-admin may list every user.
    const token = await h.token(OPS_ADMIN.username, OPS_ADMIN.password);
    expect((await h.http(`${IAM}/users`, bearer(token))).status).toBe(200);
    // admin keeps its chart-made binding name.
    expect(snapshot.globalRoleBindings.admin).toMatchObject({ user: 'admin', role: 'platform-admin' });
  });

  it('lists both under ?globalrole=platform-admin, and only the bound ones after a demotion (§4)', async () => {
    h = await startEmulator();
    const admin = await h.token();
    const names = async () => {
      const res = await h!.http(`${IAM}/users?globalrole=platform-admin&limit=1`, bearer(admin));
      const body = (await res.json()) as { items: { metadata: { name: string } }[]; totalItems: number };
      return [body.items.map((u) => u.metadata.name), body.totalItems];
    };
    // Paging is ignored for this filter.
    expect(await names()).toEqual([['admin', 'ops-admin'], 2]);
    await h.admin.setUserGlobalRole('ops-admin', 'platform-regular');
    expect(await names()).toEqual([['admin'], 1]);
  });

  it('is not added to a loaded state file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ks-seed-')), 'state.json');
    const first = await createEmulator({ stateFile: file });
    await first.close();
    // A state file written before ops-admin existed.
    const data = JSON.parse(readFileSync(file, 'utf8')) as {
      users: Record<string, unknown>;
      globalRoleBindings: Record<string, unknown>;
    };
    expect(Object.keys(data.users).sort()).toEqual(['admin', 'ops-admin']);
    delete data.users['ops-admin'];
    delete data.globalRoleBindings['ops-admin-platform-admin'];
    writeFileSync(file, JSON.stringify(data));
    const second = await createEmulator({ stateFile: file });
    try {
      expect(Object.keys(second.snapshot().users)).toEqual(['admin']);
    } finally {
      await second.close();
    }
  });
});
