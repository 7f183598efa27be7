import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeSphereClient } from '../../src/kubesphere/client.js';
import { RequestPacer } from '../../src/kubesphere/pacer.js';
import type { KubeSphereError } from '../../src/kubesphere/errors.js';
import { ADMIN_PASSWORD, eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';

let h: EmulatorHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const TOKEN_ROUTE = 'POST /oauth/token';
const GET_USER_ROUTE = 'GET /kapis/iam.kubesphere.io/v1beta1/users/:name';
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined as never,
    (e: KubeSphereError) => e,
  );

describe('withSignal: per-call cancellation', () => {
  it('an aborted call stops at once and closes its request on the server too', async () => {
    h = await startEmulator();
    const controller = new AbortController();
    const view = h.admin.withSignal(controller.signal);
    await view.getUser('admin'); // logs in through the view, on the shared token source
    h.emulator.faults.set({ latencyMs: 5_000 });

    const started = Date.now();
    const pending = failure(view.getUser('admin'));
    await eventually(() => expect(h!.emulator.requests.inFlight).toBe(1));
    const why = new Error('activity cancelled');
    controller.abort(why);
    const error = await pending;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(error.code).toBe('KS_ABORTED');
    expect(error.cause).toBe(why);
    // The connection was closed, not left to wait out the 5 s answer.
    await eventually(() => expect(h!.emulator.requests).toMatchObject({ inFlight: 0, clientAborted: 1 }), 1_000);

    // An already aborted view sends nothing.
    const reads = h.count(GET_USER_ROUTE);
    await expect(view.getUser('admin')).rejects.toMatchObject({ code: 'KS_ABORTED' });
    expect(h.count(GET_USER_ROUTE)).toBe(reads);

    // The client it came from is untouched, shares the login, and the view's close() leaves the pool open.
    h.emulator.faults.set({ latencyMs: 0 });
    await view.close();
    await expect(h.admin.getUser('admin')).resolves.toMatchObject({ metadata: { name: 'admin' } });
    expect(h.count(TOKEN_ROUTE)).toBe(1);
  });

  it('an aborted caller stops waiting for a shared login, which still serves the others', async () => {
    h = await startEmulator({ faults: { latencyMs: 600 } });
    const controller = new AbortController();
    const view = h.admin.withSignal(controller.signal);
    const started = Date.now();
    const aborted = failure(view.getUser('admin'));
    const other = h.admin.getUser('admin');
    await eventually(() => expect(h!.count(TOKEN_ROUTE)).toBe(1));
    controller.abort();
    expect((await aborted).code).toBe('KS_ABORTED');
    expect(Date.now() - started).toBeLessThan(500);
    await expect(other).resolves.toMatchObject({ metadata: { name: 'admin' } });
    expect(h.count(TOKEN_ROUTE)).toBe(1);
    expect(h.emulator.requests.clientAborted).toBe(0);
  });
});

describe('a request stopped while it waits for a connection', () => {
  it('rejects at once and is never sent', async () => {
    h = await startEmulator();
    const client = new KubeSphereClient({
      baseUrl: h.emulator.url,
      credentials: { username: 'admin', password: ADMIN_PASSWORD },
      connections: 1,
    });
    try {
      await client.getUser('admin');
      h.emulator.faults.set({ latencyMs: 800 });
      const reads = h.count(GET_USER_ROUTE);
      const busy = client.getUser('admin'); // holds the only connection
      const controller = new AbortController();
      const queued = failure(client.withSignal(controller.signal).getWorkspace('system-workspace'));
      await eventually(() => expect(h!.count(GET_USER_ROUTE)).toBe(reads + 1));
      const started = Date.now();
      controller.abort();
      expect((await queued).code).toBe('KS_ABORTED');
      expect(Date.now() - started).toBeLessThan(300);
      await expect(busy).resolves.toMatchObject({ metadata: { name: 'admin' } });
      h.emulator.faults.set({ latencyMs: 0 });
      await client.getUser('admin'); // the pool still works afterwards
      expect(h.count('GET /kapis/tenant.kubesphere.io/v1beta1/workspacetemplates/:workspace')).toBe(0);
    } finally {
      await client.close();
    }
  });
});

describe('the per-request deadline', () => {
  it('aborts a request that outlives it with KS_TIMEOUT, closing it on the server', async () => {
    h = await startEmulator();
    const client = new KubeSphereClient({
      baseUrl: h.emulator.url,
      credentials: { username: 'admin', password: ADMIN_PASSWORD },
      requestTimeoutMs: 300,
    });
    try {
      await client.getUser('admin');
      h.emulator.faults.set({ latencyMs: 3_000 });
      const started = Date.now();
      const error = await failure(client.getUser('admin'));
      expect(error.code).toBe('KS_TIMEOUT');
      expect(error.message).toMatch(/300 ms request deadline/);
      expect((error.cause as Error).name).toBe('DeadlineExceeded');
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(Date.now() - started).toBeLessThan(1_500);
      await eventually(() => expect(h!.emulator.requests).toMatchObject({ inFlight: 0, clientAborted: 1 }), 1_000);
    } finally {
      await client.close();
    }
  });
});

describe('transport errors keep their cause', () => {
  it('a refused connection is KS_NETWORK with undici’s error as the cause, and no secret in the message', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve)); // nothing listens there now
    const password = 'Passw0rd-Secret';
    const client = new KubeSphereClient({
      baseUrl: `http://127.0.0.1:${port}`,
      credentials: { username: 'admin', password },
    });
    const error = await failure(client.getUser('admin'));
    expect(error.code).toBe('KS_NETWORK');
    expect(error.cause).toBeInstanceOf(Error);
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect(error.message).not.toContain(password);
    await client.close();
  });

  it('a reset connection keeps the socket error as the cause', async () => {
    h = await startEmulator();
    await h.admin.getUser('admin');
    h.emulator.faults.set({ resetRate: 1 });
    const error = await failure(h.admin.getUser('admin'));
    expect(error.code).toBe('KS_NETWORK');
    expect((error.cause as { code?: string }).code).toMatch(/^(UND_ERR_SOCKET|ECONNRESET)$/);
  });
});

describe('requestsPerSecond: a paced client', () => {
  it('queues requests beyond its rate; one cancelled while it waits fails KS_ABORTED and never reaches KubeSphere', async () => {
    h = await startEmulator();
    const paced = new KubeSphereClient({
      baseUrl: h.emulator.url,
      credentials: { username: 'admin', password: ADMIN_PASSWORD },
      pacer: new RequestPacer(1),
    });
    try {
      await paced.getUser('admin'); // the login and this read: the first takes the one free turn, the read waits
      const sent = h.emulator.requests.byRoute[GET_USER_ROUTE] ?? 0;
      const controller = new AbortController();
      const pending = failure(paced.withSignal(controller.signal).getUser('admin'));
      controller.abort(new Error('activity cancelled'));
      const error = await pending;
      expect(error.code).toBe('KS_ABORTED');
      expect(h.emulator.requests.byRoute[GET_USER_ROUTE] ?? 0).toBe(sent);
    } finally {
      await paced.close();
    }
  });
});
