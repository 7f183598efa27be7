import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { intakeConfig, requiredCodecKeyRing } from '../../src/config.js';
import { seal, Unsealer } from '../../src/codec/seal.js';
import { exec, parseEnvFile, ROOT } from './support.js';

/** deploy/make-secrets.sh, run into temporary directories (never into the checkout's deploy/secrets/). */
const SCRIPT = join(ROOT, 'deploy/make-secrets.sh');
const FILES = readFileSync(SCRIPT, 'utf8')
  .match(/^FILES="([^"]+)"/m)![1]!
  .split(' ');

const run = (args: string[]) =>
  exec('sh', [SCRIPT, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: error.code ?? -1,
      output: (error.stdout ?? '') + (error.stderr ?? ''),
    }),
  );
const temporary: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'ks-secrets-'));
  temporary.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});
const contents = (dir: string) =>
  Object.fromEntries(FILES.map((file) => [file, readFileSync(join(dir, file), 'utf8')]));

describe('deploy/make-secrets.sh', () => {
  it('writes every secret the compose file reads, private to its owner, each one accepted by the code', async () => {
    const dir = join(tempDir(), 'secrets');
    const made = await run(['--dir', dir]);
    expect(made).toMatchObject({ code: 0 });
    expect(readdirSync(dir).sort()).toEqual([...FILES].sort()); // and nothing left behind
    for (const file of FILES)
      expect([file, statSync(join(dir, file)).mode & 0o777]).toEqual([
        file,
        file === 'seal-public.pem' ? 0o644 : 0o600,
      ]);
    if (process.getuid?.() === 0)
      for (const file of ['kubesphere-password', 'seal-private.pem']) expect(statSync(join(dir, file)).uid).toBe(1000);

    const env = Object.assign(
      {},
      ...['temporal-db.env', 'codec.env', 'hr.env', 'intake.env', 'temporal-ui.env'].map((file) =>
        parseEnvFile(readFileSync(join(dir, file), 'utf8')),
      ),
    ) as Record<string, string>;
    expect(Object.keys(env).sort()).toEqual([
      'KS_ONBOARD_CODEC_KEYS',
      'KS_ONBOARD_INTAKE_TOKEN',
      'KS_ONBOARD_WEBHOOK_SECRETS',
      'POSTGRES_PWD',
    ]);
    expect(env.POSTGRES_PWD).toMatch(/^[0-9a-f]{48}$/);
    expect(requiredCodecKeyRing({ KS_ONBOARD_CODEC_KEYS: env.KS_ONBOARD_CODEC_KEYS }).ids).toHaveLength(1);
    const intake = intakeConfig({ ...env, KS_ONBOARD_PLACEMENT: join(ROOT, 'samples/placement.yaml') });
    expect(intake.token).toBe(env.KS_ONBOARD_INTAKE_TOKEN);
    expect(intake.hr.vendors.secrets.generic).toEqual([env.KS_ONBOARD_WEBHOOK_SECRETS]);
    expect(readFileSync(join(dir, 'kubesphere-password'), 'utf8')).toMatch(
      /^(?=.*[A-Z])(?=.*[a-z])(?=.*\d)\S{8,64}\n$/,
    );
    // the key pair works as the workers' seal: what the CLI seals with the public key, a worker opens
    const unsealer = new Unsealer([readFileSync(join(dir, 'seal-private.pem'), 'utf8')]);
    expect(unsealer.open(seal('Pa55-word', readFileSync(join(dir, 'seal-public.pem'), 'utf8')))).toBe('Pa55-word');
    expect(readFileSync(join(dir, 'seal-private.pem'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('refuses to overwrite anything without --force, and replaces everything with it', async () => {
    const dir = join(tempDir(), 'secrets');
    expect((await run(['--dir', dir])).code).toBe(0);
    const first = contents(dir);
    const again = await run(['--dir', dir]);
    expect(again.code).toBe(1);
    expect(again.output).toMatch(/already holds: .*codec\.env.*--force/s);
    expect(contents(dir)).toEqual(first);
    const forced = await run(['--force', '--dir', dir]);
    expect(forced.code).toBe(0);
    const second = contents(dir);
    for (const file of FILES.filter((f) => f !== 'temporal-ui.env'))
      expect([file, second[file] === first[file]]).toEqual([file, false]);
  });

  it('refuses when a single one exists, writing none of the others', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'kubesphere-password'), 'the-real-one\n', { mode: 0o600 });
    const refused = await run(['--dir', dir]);
    expect(refused.code).toBe(1);
    expect(readdirSync(dir)).toEqual(['kubesphere-password']);
    expect(readFileSync(join(dir, 'kubesphere-password'), 'utf8')).toBe('the-real-one\n');
    expect((await run(['--bogus'])).code).toBe(2);
  });
});
