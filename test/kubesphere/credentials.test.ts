import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeSphereClient } from '../../src/kubesphere/client.js';
import type { KubeSphereError } from '../../src/kubesphere/errors.js';
import { eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';

// KubeSphere locks an account after 10 failed logins (§2): the worker's own account must never get there.
let h: EmulatorHarness;
beforeAll(async () => {
  h = await startEmulator({ oauth: { lockoutMaxTries: 10 } });
});
afterAll(async () => {
  await h.close();
});

const TOKEN_ROUTE = 'POST /oauth/token';
const GET_USER_ROUTE = 'GET /kapis/iam.kubesphere.io/v1beta1/users/:name';
const outcome = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (e: KubeSphereError) => e.code,
  );

async function workerAccount(name: string, password: string) {
  await h.admin.createUser({ name, email: `${name}@example.com`, password, globalRole: 'platform-admin' });
  await eventually(async () => expect((await h.admin.getUser(name)).status?.state).toBe('Active'));
}

describe('a rejected login is never repeated with the same credentials', () => {
  it('20 calls with a wrong password cost one login; the fixed password is picked up at once', async () => {
    await workerAccount('worker1', 'Right-Passw0rd');
    let password = 'Wrong-Passw0rd';
    const rejections: string[] = [];
    const client = new KubeSphereClient({
      baseUrl: h.emulator.url,
      credentials: () => ({ username: 'worker1', password }),
      onCredentialsRejected: (reason) => rejections.push(reason),
    });
    const before = h.count(TOKEN_ROUTE);
    const reads = h.count(GET_USER_ROUTE);
    expect(client.authHealth()).toEqual({ ok: true });

    const codes: string[] = [];
    codes.push(...(await Promise.all(Array.from({ length: 5 }, () => outcome(client.getUser('worker1'))))));
    for (let i = 0; i < 10; i++) codes.push(await outcome(client.listUsers()));
    codes.push(
      ...(await Promise.all(Array.from({ length: 5 }, () => outcome(client.getWorkspace('system-workspace'))))),
    );

    expect(codes).toHaveLength(20);
    expect(codes[0]).toBe('KS_LOGIN_FAILED');
    expect(codes.slice(1)).toEqual(Array.from({ length: 19 }, () => 'KS_CREDENTIALS_REJECTED'));
    expect(h.count(TOKEN_ROUTE) - before).toBe(1);
    expect(h.count(GET_USER_ROUTE)).toBe(reads);
    // KubeSphere saw one failure and the account is nowhere near the lockout.
    expect(h.emulator.state.data.loginFailures.worker1).toHaveLength(1);
    expect(h.emulator.snapshot().users.worker1?.status.state).toBe('Active');

    expect(rejections).toHaveLength(1);
    const health = client.authHealth();
    expect(health.ok).toBe(false);
    const reason = (health as { reason: string }).reason;
    expect(reason).toBe(rejections[0]);
    expect(reason).toContain('login as "worker1" (Invalid username or password.)');
    expect(reason).toMatch(/will not try the same credentials again/);
    expect(reason).toMatch(/locks an account after repeated failed logins/);
    expect(reason).toMatch(/Fix the credentials; they are read again on the next call/);
    expect(reason).not.toContain('Wrong-Passw0rd');
    const error = (await client.getUser('worker1').catch((e: unknown) => e)) as KubeSphereError;
    expect(error.message).toBe(reason);

    password = 'Right-Passw0rd';
    await expect(client.getUser('worker1')).resolves.toMatchObject({ metadata: { name: 'worker1' } });
    await Promise.all(Array.from({ length: 5 }, () => client.getUser('worker1')));
    expect(h.count(TOKEN_ROUTE) - before).toBe(2);
    expect(client.authHealth()).toEqual({ ok: true });
    expect(rejections).toHaveLength(1);
    await client.close();
  });

  it('gives each different set of credentials exactly one try, and remembers every refused one', async () => {
    await workerAccount('worker2', 'Right-Passw0rd');
    let password = 'Wrong-One-1';
    const rejections: string[] = [];
    const client = new KubeSphereClient({
      baseUrl: h.emulator.url,
      credentials: async () => ({ username: 'worker2', password }),
      onCredentialsRejected: (reason) => rejections.push(reason),
    });
    const before = h.count(TOKEN_ROUTE);
    expect(await outcome(client.getUser('worker2'))).toBe('KS_LOGIN_FAILED');
    expect(await outcome(client.getUser('worker2'))).toBe('KS_CREDENTIALS_REJECTED');
    password = 'Wrong-Two-2';
    expect(await outcome(client.getUser('worker2'))).toBe('KS_LOGIN_FAILED');
    expect(await outcome(client.getUser('worker2'))).toBe('KS_CREDENTIALS_REJECTED');
    password = 'Wrong-One-1'; // an old file restored: still known bad
    expect(await outcome(client.getUser('worker2'))).toBe('KS_CREDENTIALS_REJECTED');
    expect(h.count(TOKEN_ROUTE) - before).toBe(2);
    expect(rejections).toHaveLength(2);
    expect(h.emulator.state.data.loginFailures.worker2).toHaveLength(2);
    await client.close();
  });

  it('fixed credentials say to restart, and a locked account (429) is not tried again either', async () => {
    await workerAccount('worker3', 'Right-Passw0rd');
    for (let i = 0; i < 10; i++) await h.login('worker3', 'Wrong-pass1'); // someone else locked it
    const client = new KubeSphereClient({
      baseUrl: h.emulator.url,
      credentials: { username: 'worker3', password: 'Right-Passw0rd' },
    });
    const before = h.count(TOKEN_ROUTE);
    expect(await outcome(client.getUser('worker3'))).toBe('KS_LOCKED_OUT');
    const error = (await client.getUser('worker3').catch((e: unknown) => e)) as KubeSphereError;
    expect(error.code).toBe('KS_CREDENTIALS_REJECTED');
    expect(error.message).toContain('login as "worker3" (Rate limit exceeded.)');
    expect(error.message).toMatch(/Fix the credentials and restart\.$/);
    expect(error.message).not.toContain('Right-Passw0rd');
    expect(h.count(TOKEN_ROUTE) - before).toBe(1);
    await client.close();
  });

  it('a refused token keeps failing with KS_UNAUTHORIZED, asking the server each time', async () => {
    const client = new KubeSphereClient({ baseUrl: h.emulator.url, credentials: { token: 'revoked-token' } });
    const reads = h.count(GET_USER_ROUTE);
    expect(await outcome(client.getUser('admin'))).toBe('KS_UNAUTHORIZED');
    expect(await outcome(client.getUser('admin'))).toBe('KS_UNAUTHORIZED');
    expect(h.count(GET_USER_ROUTE) - reads).toBe(2);
    expect(client.authHealth()).toMatchObject({ ok: false, reason: expect.stringMatching(/token was refused/) });
    await client.close();
  });
});
