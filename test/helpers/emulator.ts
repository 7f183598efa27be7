import { KubeSphereClient } from '../../src/kubesphere/client.js';
import { createEmulator, type EmulatorOptions } from '../../src/emulator/server.js';

export const ADMIN_PASSWORD = 'P@88w0rd';
/**
 * The second seeded platform-admin. Repeated here rather than imported from the emulator's
 * SEEDED_ACCOUNTS on purpose: the tests check the emulator against the documented values.
 */
export const OPS_ADMIN = { username: 'ops-admin', email: 'ops-admin@example.com', password: 'Ops-P@88w0rd' } as const;

/** An emulator with fast controllers, plus an admin client on it. */
export async function startEmulator(options: EmulatorOptions = {}) {
  const emulator = await createEmulator({
    delays: { userActivationMs: 80, workspaceRolesMs: 80, projectRolesMs: 80 },
    ...options,
  });
  const admin = new KubeSphereClient({
    baseUrl: emulator.url,
    credentials: { username: 'admin', password: ADMIN_PASSWORD },
  });
  const login = (username: string, password: string) =>
    fetch(`${emulator.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        username,
        password,
        client_id: 'kubesphere',
        client_secret: 'kubesphere',
      }),
    });
  return {
    emulator,
    admin,
    /** Raw HTTP for exact status/body assertions. */
    http: (path: string, init: RequestInit = {}) => fetch(`${emulator.url}${path}`, init),
    /** A raw password-grant login, as any HTTP client would send it. */
    login,
    async token(username = 'admin', password = ADMIN_PASSWORD): Promise<string> {
      const res = await login(username, password);
      const body = (await res.json()) as { access_token?: string };
      if (!body.access_token) throw new Error(`login of ${username} failed: ${res.status} ${JSON.stringify(body)}`);
      return body.access_token;
    },
    /** How many requests the emulator has counted for `METHOD template`, e.g. `POST /oauth/token`. */
    count(route: string): number {
      return emulator.requests.byRoute[route] ?? 0;
    },
    /** A person who can log in: created with the admin client, returned once KubeSphere has activated them. */
    async person(who: { username: string; password: string }, globalRole = 'platform-regular') {
      await admin.createUser({
        name: who.username,
        email: `${who.username}@people.example`,
        password: who.password,
        globalRole,
      });
      await eventually(() =>
        login(who.username, who.password).then((r) => (r.ok ? r : Promise.reject(new Error(`${r.status}`)))),
      );
      return who;
    },
    /** Closes, and fails the test if anything ever sent a DELETE or PATCH to this emulator. */
    async close() {
      await admin.close();
      await emulator.close();
      const { DELETE = 0, PATCH = 0 } = emulator.requests.byMethod;
      if (DELETE + PATCH > 0) throw new Error(`the emulator received ${DELETE} DELETE and ${PATCH} PATCH requests`);
    },
  };
}

export type EmulatorHarness = Awaited<ReturnType<typeof startEmulator>>;

/** Polls until `check` stops throwing (for KubeSphere's asynchronous controllers). */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
