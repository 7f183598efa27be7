import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, OPS_ADMIN, type EmulatorHarness } from '../helpers/emulator.js';
import { runCli, startCli } from '../helpers/cli.js';
import { temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

let t: TemporalHarness;
let h: EmulatorHarness;
beforeAll(async () => {
  t = await temporalHarness();
  h = await startEmulator();
});
afterAll(async () => {
  await h.close();
  await t.close();
});

/** The JSON form of a payload, as the Web UI sends it to /decode. */
function asJson(payload: { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }) {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}

describe('ks-onboard codec-server', () => {
  it('decodes a real input for a KubeSphere user the Web UI forwards, and for nobody else', async () => {
    const taskQueue = t.taskQueue();
    const worker = await t.worker(taskQueue, h.emulator.url);
    const input = await worker.runUntil(async () => {
      const { handle } = await t.propose(taskQueue, {
        username: 'decoded',
        email: 'decoded@example.com',
        sealedPassword: t.sealPassword('Dec0ded-Passw0rd'),
      });
      await handle.result();
      const history = await handle.fetchHistory();
      return history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    });
    const server = startCli(['codec-server'], {
      KS_ONBOARD_CODEC_PORT: '0',
      KS_ONBOARD_CODEC_AUTH: 'kubesphere',
      KS_ONBOARD_CODEC_ALLOWED_USERS: 'ops-admin',
      KUBESPHERE_HOST: h.emulator.url,
      LOG_LEVEL: 'info',
    });
    try {
      const [, url] = await server.waitFor(/"url":"(http:\/\/[^"]+)".*codec server ready/);
      const decode = (bearer?: string) =>
        fetch(`${url}/decode`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            origin: 'http://localhost:8233',
            ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
          },
          body: JSON.stringify({ payloads: [asJson(input)] }),
        });
      expect((await decode()).status).toBe(401);
      expect((await decode('not-a-kubesphere-token')).status).toBe(401);
      await h.person({ username: 'someone', password: 'S0meone-P@88w0rd' });
      expect((await decode(await h.token('someone', 'S0meone-P@88w0rd'))).status).toBe(403);
      const ok = await decode(await h.token(OPS_ADMIN.username, OPS_ADMIN.password));
      expect(ok.status).toBe(200);
      expect(ok.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
      const [decoded] = ((await ok.json()) as { payloads: { data: string }[] }).payloads;
      const text = Buffer.from(decoded!.data, 'base64').toString('utf8');
      expect(text).toContain('decoded@example.com');
      expect(text).toContain('ks-sealed:v1:');
      expect(text).not.toContain('Dec0ded-Passw0rd');
      expect(server.output()).not.toContain(process.env.KS_ONBOARD_CODEC_KEYS!.split(':')[1]);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('refuses to run without a key ring, or without authentication beyond loopback', async () => {
    const bad = await runCli(['codec-server'], { KS_ONBOARD_CODEC_KEYS: 'nope' });
    expect(bad.code).toBe(2);
    expect(bad.output).toMatch(/KS_ONBOARD_CODEC_KEYS/);
    const open = await runCli(['codec-server'], { KS_ONBOARD_CODEC_HOST: '0.0.0.0' });
    expect(open.code).toBe(2);
    expect(open.output).toMatch(/KS_ONBOARD_CODEC_AUTH/);
    const worker = await runCli(['worker'], {
      KS_ONBOARD_CODEC_KEYS: 'nope',
      KUBESPHERE_HOST: h.emulator.url,
      KUBESPHERE_TOKEN: 'x',
    });
    expect(worker.code).toBe(2);
    expect(worker.output).toMatch(/KS_ONBOARD_CODEC_KEYS/);
  });
});
