import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { KubeSphereClient } from '../../src/kubesphere/client.js';
import { eventually } from '../helpers/emulator.js';
import { runCli, startCli } from '../helpers/cli.js';

const exec = promisify(execFile);

describe('ks-onboard emulator', () => {
  it('prints its URL, keeps --state across a restart, and stops cleanly on SIGTERM', async () => {
    const state = join(mkdtempSync(join(tmpdir(), 'ks-emu-')), 'state.json');
    const first = startCli(['emulator', '--port', '0', '--state', state, '--controller-delay', '50']);
    const url = (await first.waitFor(/listening on (http:\/\/\S+)/))[1]!;
    const client = new KubeSphereClient({ baseUrl: url, credentials: { username: 'admin', password: 'P@88w0rd' } });
    await client.createUser({
      name: 'kept',
      email: 'kept@example.com',
      password: 'Passw0rd1',
      globalRole: 'platform-regular',
    });
    await client.createWorkspace({ name: 'kept-ws', manager: 'kept' });
    await eventually(async () => expect((await client.getUser('kept')).status?.state).toBe('Active'));
    await client.close();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = startCli(['emulator', '--port', '0', '--state', state]);
    const url2 = (await second.waitFor(/listening on (http:\/\/\S+)/))[1]!;
    const again = new KubeSphereClient({ baseUrl: url2, credentials: { username: 'kept', password: 'Passw0rd1' } });
    await expect(again.getUser('kept')).resolves.toMatchObject({
      spec: { email: 'kept@example.com' },
      status: { state: 'Active' },
    });
    await again.close();
    const admin = new KubeSphereClient({ baseUrl: url2, credentials: { username: 'admin', password: 'P@88w0rd' } });
    // A workspace saved before its controller ran is finished on reload.
    await expect(admin.workspaceRolesOf('kept-ws', 'kept')).resolves.toEqual(['kept-ws-admin']);
    await admin.close();
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('--fail-route answers 500 on that route only, every time', async () => {
    const server = startCli(['emulator', '--port', '0', '--fail-route', 'POST /kapis/iam.kubesphere.io/v1beta1/users']);
    const url = (await server.waitFor(/listening on (http:\/\/\S+)/))[1]!;
    const client = new KubeSphereClient({ baseUrl: url, credentials: { username: 'admin', password: 'P@88w0rd' } });
    try {
      await expect(client.getUser('admin')).resolves.toMatchObject({ metadata: { name: 'admin' } });
      for (let i = 0; i < 3; i++)
        await expect(
          client.createUser({ name: 'nope', email: 'nope@example.com', globalRole: 'platform-regular' }),
        ).rejects.toMatchObject({ code: 'KS_UNAVAILABLE' });
    } finally {
      await client.close();
      server.child.kill('SIGTERM');
      await server.exited;
    }
    const bad = await runCli(['emulator', '--fail-route', 'users']);
    expect(bad.code).not.toBe(0);
    expect(bad.output).toMatch(/a route looks like 'POST \/kapis/);
  });

  it('rejects a bad flag value with a message naming the rule', async () => {
    const { code, output } = await runCli(['emulator', '--fail-rate', '2']);
    expect(code).not.toBe(0);
    expect(output).toContain("option '--fail-rate <0..1>' argument '2' is invalid. expected a number from 0 to 1");
  });
});

describe('a client written by someone else (curl)', () => {
  it('logs in with a form post and gets the documented statuses and bodies', async () => {
    const server = startCli(['emulator', '--port', '0']);
    const url = (await server.waitFor(/listening on (http:\/\/\S+)/))[1]!;
    try {
      const curl = async (...args: string[]) => (await exec('curl', ['-s', '-w', '\n%{http_code}', ...args])).stdout;
      const login = await curl(
        '-X',
        'POST',
        `${url}/oauth/token`,
        '-d',
        'grant_type=password&username=admin&password=P@88w0rd&client_id=kubesphere&client_secret=kubesphere',
      );
      const [body, status] = login.split('\n');
      expect(status).toBe('200');
      const token = (JSON.parse(body!) as { access_token: string }).access_token;
      const auth = ['-H', `Authorization: Bearer ${token}`, '-H', 'Content-Type: application/json'];
      const user = JSON.stringify({
        apiVersion: 'iam.kubesphere.io/v1beta1',
        kind: 'User',
        metadata: { name: 'curly' },
        spec: { email: 'curly@example.com', password: 'Passw0rd1' },
      });
      expect(
        (await curl(...auth, '-X', 'POST', `${url}/kapis/iam.kubesphere.io/v1beta1/users`, '-d', user)).endsWith(
          '\n200',
        ),
      ).toBe(true);
      expect(await curl(...auth, '-X', 'POST', `${url}/kapis/iam.kubesphere.io/v1beta1/users`, '-d', user)).toBe(
        'users.iam.kubesphere.io "curly" already exists\n\n409',
      );
      const ws = JSON.stringify({ metadata: { name: 'curl-ws' }, spec: { template: { spec: { manager: 'curly' } } } });
      expect(
        (
          await curl(
            ...auth,
            '-X',
            'POST',
            `${url}/clusters/host/kapis/tenant.kubesphere.io/v1beta1/workspacetemplates`,
            '-d',
            ws,
          )
        ).endsWith('\n200'),
      ).toBe(true);
      expect(
        await curl(...auth, '-X', 'POST', `${url}/kapis/tenant.kubesphere.io/v1beta1/workspacetemplates`, '-d', ws),
      ).toBe('workspacetemplates.tenant.kubesphere.io "curl-ws" already exists\n\n400');
      expect(await curl(`${url}/kapis/iam.kubesphere.io/v1beta1/users`)).toMatch(/"reason":"Forbidden".*\n403$/);
      expect(await curl('-H', 'Authorization: Bearer x', `${url}/kapis/iam.kubesphere.io/v1beta1/users`)).toMatch(
        /"reason":"Unauthorized".*\n401$/,
      );
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
