import { afterEach, describe, expect, it } from 'vitest';
import { KubeSphereClient } from '../../src/kubesphere/client.js';
import type { KubeSphereError } from '../../src/kubesphere/errors.js';
import { startEmulator, type EmulatorHarness } from '../helpers/emulator.js';

let h: EmulatorHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (e: KubeSphereError) => e.code,
  );

describe('fault injection', () => {
  it('a fail rate answers 500, which the client reports as KS_UNAVAILABLE', async () => {
    h = await startEmulator();
    await h.admin.getUser('admin'); // log in before the faults start
    h.emulator.faults.set({ failRate: 1 });
    await expect(codeOf(h.admin.getUser('admin'))).resolves.toBe('KS_UNAVAILABLE');
    expect(h.emulator.snapshot().users.admin).toBeTruthy();
  });

  it('a reset rate drops connections before anything is applied (KS_NETWORK)', async () => {
    h = await startEmulator();
    await h.admin.getUser('admin');
    h.emulator.faults.set({ resetRate: 1 });
    await expect(codeOf(h.admin.createUser({ name: 'reset1', email: '' }))).resolves.toBe('KS_NETWORK');
    expect(h.emulator.snapshot().users.reset1).toBeUndefined();
  });

  it('a dropped answer applies the write, so the retry meets "already exists"', async () => {
    h = await startEmulator();
    await h.admin.getUser('admin');
    h.emulator.faults.set({ dropResponseRate: 1 });
    await expect(codeOf(h.admin.createWorkspace({ name: 'drop1' }))).resolves.toBe('KS_NETWORK');
    expect(h.emulator.snapshot().workspaces.drop1).toBeTruthy();
    h.emulator.faults.set({ dropResponseRate: 0 });
    await expect(codeOf(h.admin.createWorkspace({ name: 'drop1' }))).resolves.toBe('KS_ALREADY_EXISTS');
  });

  it('latency beyond the client timeout is KS_TIMEOUT', async () => {
    h = await startEmulator({ faults: { latencyMs: 2500 } }); // undici checks timeouts about once a second
    const client = new KubeSphereClient({
      baseUrl: h.emulator.url,
      credentials: { username: 'admin', password: 'P@88w0rd' },
      headersTimeoutMs: 200,
    });
    await expect(codeOf(client.getUser('admin'))).resolves.toBe('KS_TIMEOUT');
    await client.close();
  });

  it('the fault dice are reproducible from a seed', async () => {
    h = await startEmulator({ faults: { failRate: 0.5, seed: 42 } });
    const outcomes = async () => {
      const codes: string[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await h!.http('/kapis/iam.kubesphere.io/v1beta1/users');
        codes.push(String(res.status));
      }
      return codes.join(',');
    };
    const first = await outcomes();
    h.emulator.faults.set({ seed: 42 });
    expect(await outcomes()).toBe(first);
    expect(first).toContain('500');
    expect(first).toContain('403');
  });

  it('counts requests by method and route template', async () => {
    h = await startEmulator();
    await h.admin.getUser('admin');
    await h.admin.getUser('admin');
    expect(h.emulator.requests.byRoute['GET /kapis/iam.kubesphere.io/v1beta1/users/:name']).toBe(2);
    expect(h.emulator.requests.byRoute['POST /oauth/token']).toBe(1);
    const res = await h.http('/_emulator/requests');
    expect(await res.json()).toMatchObject({ total: 3, byMethod: { GET: 2, POST: 1 } });
  });
});

describe('PUT /_emulator/faults: faults changed on a running emulator', () => {
  it('turns faults on and off over HTTP, and refuses what is not a fault setting', async () => {
    h = await startEmulator();
    await h.admin.getUser('admin');
    const put = (body: unknown) =>
      fetch(`${h!.emulator.url}/_emulator/faults`, { method: 'PUT', body: JSON.stringify(body) });
    expect((await put({ failRate: 1 })).status).toBe(200);
    await expect(codeOf(h.admin.getUser('admin'))).resolves.toBe('KS_UNAVAILABLE');
    expect((await put({ failRate: 0 })).status).toBe(200);
    await expect(codeOf(h.admin.getUser('admin'))).resolves.toBe('resolved');

    const refused = await put({ failRate: 2, deleteEverything: true });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toMatch(/failRate: .*1.*; .*deleteEverything/);
    await expect(codeOf(h.admin.getUser('admin'))).resolves.toBe('resolved');
  });
});
