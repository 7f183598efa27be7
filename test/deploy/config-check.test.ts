import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureDevKeyPair } from '../../src/codec/seal.js';
import { freePort } from '../../src/temporal/dev-server.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { ADMIN_PASSWORD, eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';

interface Check {
  name: string;
  ok: boolean;
  message: string;
  variable?: string;
  skipped?: boolean;
}
interface Report {
  config: Record<string, { readBy: string[]; values?: Record<string, unknown>; defaults?: string[]; error?: string }>;
  checks: Check[];
}

let h: EmulatorHarness;
let dir: string;
beforeAll(async () => {
  h = await startEmulator();
  dir = mkdtempSync(join(tmpdir(), 'ks-config-check-'));
  ensureDevKeyPair(join(dir, 'seal-private.pem'), join(dir, 'seal-public.pem'));
});
afterAll(async () => {
  await h.close();
});

const whsec = () => `whsec_${randomBytes(32).toString('base64')}`;
/** Every secret the good environment holds: none may appear in any output. */
const SECRETS = {
  KS_ONBOARD_WEBHOOK_SECRETS: whsec(),
  KS_ONBOARD_INTAKE_TOKEN: randomBytes(24).toString('hex'),
  KS_ONBOARD_CODEC_TOKEN: randomBytes(24).toString('hex'),
  KS_ONBOARD_NOTIFY_SECRET: whsec(),
  KS_ONBOARD_HIBOB_SECRETS: `hibob-${randomBytes(12).toString('hex')}`,
  KS_ONBOARD_HIBOB_SERVICE_USER: `svc-1:${randomBytes(16).toString('hex')}`,
};
const NOTIFY_PATH = `/hooks/T0/${randomBytes(8).toString('hex')}`;

/** A complete, correct environment for the worker, the intake and the codec server, as a deployment would give. */
function goodEnv(): NodeJS.ProcessEnv {
  return {
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: 'default',
    KUBESPHERE_HOST: h.emulator.url,
    KUBESPHERE_USERNAME: 'admin',
    KUBESPHERE_PASSWORD: ADMIN_PASSWORD,
    KS_ONBOARD_SEAL_PRIVATE_KEYS: join(dir, 'seal-private.pem'),
    KS_ONBOARD_PLACEMENT: join(ROOT, 'samples/placement.yaml'),
    KS_ONBOARD_CODEC_AUTH: 'token',
    KS_ONBOARD_NOTIFY_URL: `https://chat.example.com${NOTIFY_PATH}`,
    ...SECRETS,
    // the run's key ring (test/global-setup.ts) is inherited; no dev key ring to fall back on
    KS_ONBOARD_DATA_DIR: dir,
  };
}

async function check(env: NodeJS.ProcessEnv, args: string[] = []) {
  const before = h.count('POST /oauth/token');
  const { code, output } = await runCli(['config', 'check', '--json', ...args], env);
  const logins = h.count('POST /oauth/token') - before;
  for (const secret of [...Object.values(SECRETS), ADMIN_PASSWORD, 'Wrong-Passw0rd', NOTIFY_PATH])
    expect(output).not.toContain(secret);
  const codecKeys = process.env.KS_ONBOARD_CODEC_KEYS!;
  expect(output).not.toContain(codecKeys.slice(codecKeys.indexOf(':') + 1));
  const report = JSON.parse(output.trim().split('\n').pop()!) as Report;
  const failed = report.checks.filter((c) => !c.ok && !c.skipped);
  return { code, report, failed, variables: failed.map((c) => c.variable), logins };
}

describe('ks-onboard config check', () => {
  it(
    'a good environment: the effective configuration, secrets masked, every check passes, one login',
    { timeout: 60_000 },
    async () => {
      const { code, report, failed, logins } = await check(goodEnv(), ['--for', 'all']);
      expect(failed).toEqual([]);
      expect(code).toBe(0);
      expect(logins).toBe(1);
      expect(report.config.temporal?.values?.TEMPORAL_ADDRESS).toBe(inject('temporalAddress'));
      expect(report.config.kubesphere?.values?.KUBESPHERE_PASSWORD).toBe('***');
      expect(report.config['codec-keys']?.values?.KS_ONBOARD_CODEC_KEYS).toEqual(['test:***']);
      expect(report.config.hr?.values?.KS_ONBOARD_WEBHOOK_SECRETS).toBe('*** (1 secret)');
      expect(report.config.hr?.values?.KS_ONBOARD_HIBOB_SERVICE_USER).toBe('svc-1:***');
      expect(report.config.intake?.values?.KS_ONBOARD_INTAKE_TOKEN).toBe('*** (48 characters)');
      expect(report.config.notify?.values?.KS_ONBOARD_NOTIFY_URL).toBe('https://chat.example.com/***');
      expect(report.config.policy?.values?.KS_ONBOARD_APPROVAL_TIMEOUT).toBe('3d0h');
      expect(report.checks.map((c) => c.name)).toEqual(
        expect.arrayContaining([
          'temporal:connect',
          'temporal:namespace',
          'temporal:search-attributes',
          'kubesphere:reach',
          'kubesphere:login',
        ]),
      );
      expect(report.checks.find((c) => c.name === 'kubesphere:login')?.message).toMatch(
        /logged in once as admin \(global role platform-admin\)/,
      );
      // the human form says the same
      const human = await runCli(['config', 'check', '--for', 'all'], goodEnv());
      expect(human.code).toBe(0);
      expect(human.output).toMatch(/KUBESPHERE_PASSWORD\s+\*\*\*/);
      expect(human.output).toMatch(/all good/);
    },
  );

  // One broken setting per row: the exit code and the variable each names.
  const port = () => freePort();
  const cases: [string, () => Promise<NodeJS.ProcessEnv>, number, string, RegExp][] = [
    [
      'a TEMPORAL_ADDRESS that is not host:port',
      async () => ({ TEMPORAL_ADDRESS: 'http://temporal:7233' }),
      2,
      'TEMPORAL_ADDRESS',
      /must be host:port/,
    ],
    [
      'a TEMPORAL_ADDRESS where nothing answers',
      async () => ({ TEMPORAL_ADDRESS: `127.0.0.1:${await port()}` }),
      1,
      'TEMPORAL_ADDRESS',
      /nothing answers at TEMPORAL_ADDRESS=127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
    ],
    [
      'a missing client certificate file',
      async () => ({ TEMPORAL_TLS_CERT: join(dir, 'missing.pem'), TEMPORAL_TLS_KEY: join(dir, 'seal-private.pem') }),
      2,
      'TEMPORAL_TLS_CERT',
      /TEMPORAL_TLS_CERT: .*missing\.pem does not exist/,
    ],
    [
      'a wrong KubeSphere password',
      async () => ({ KUBESPHERE_PASSWORD: 'Wrong-Passw0rd' }),
      2,
      'KUBESPHERE_PASSWORD',
      /refused the login of admin \(KUBESPHERE_USERNAME\).*tried once and not again/,
    ],
    [
      'no KUBESPHERE_HOST',
      async () => ({ KUBESPHERE_HOST: undefined }),
      2,
      'KUBESPHERE_HOST',
      /^KUBESPHERE_HOST: not set: give KubeSphere's address/,
    ],
    [
      'a placement mapping file that is not there',
      async () => ({ KS_ONBOARD_PLACEMENT: join(dir, 'no-placement.yaml') }),
      2,
      'KS_ONBOARD_PLACEMENT',
      /^KS_ONBOARD_PLACEMENT \(.*no-placement\.yaml\): /,
    ],
    [
      'a bad KS_ONBOARD_APPROVAL_TIMEOUT',
      async () => ({ KS_ONBOARD_APPROVAL_TIMEOUT: 'soon' }),
      2,
      'KS_ONBOARD_APPROVAL_TIMEOUT',
      /KS_ONBOARD_APPROVAL_TIMEOUT: /,
    ],
    [
      'no codec key',
      async () => ({ KS_ONBOARD_CODEC_KEYS: undefined }),
      2,
      'KS_ONBOARD_CODEC_KEYS',
      /KS_ONBOARD_CODEC_KEYS: payloads are encrypted/,
    ],
    [
      'a namespace that does not exist',
      async () => ({ TEMPORAL_NAMESPACE: 'no-such-namespace' }),
      2,
      'TEMPORAL_NAMESPACE',
      /namespace no-such-namespace does not exist/,
    ],
  ];
  for (const [what, broken, exitCode, variable, message] of cases)
    it(`${what}: exit ${exitCode}, naming ${variable}`, { timeout: 60_000 }, async () => {
      const { code, failed, variables, logins } = await check({ ...goodEnv(), ...(await broken()) });
      expect(variables).toEqual([variable]);
      expect(failed[0]!.message).toMatch(message);
      expect(code).toBe(exitCode);
      // one login at most, whatever else is wrong; none when KubeSphere is not what is checked
      expect(logins).toBeLessThanOrEqual(1);
      if (variable === 'KUBESPHERE_PASSWORD') expect(logins).toBe(1);
    });

  it('everything broken at once: every problem named, still one login attempt', { timeout: 60_000 }, async () => {
    const { code, variables, logins, report } = await check({
      ...goodEnv(),
      TEMPORAL_ADDRESS: 'temporal:port',
      TEMPORAL_TLS_CA: join(dir, 'no-ca.pem'),
      KUBESPHERE_PASSWORD: 'Wrong-Passw0rd',
      KS_ONBOARD_APPROVAL_TIMEOUT: '5',
      KS_ONBOARD_CODEC_KEYS: undefined,
      KS_ONBOARD_SHUTDOWN_GRACE: 'a while',
    });
    expect(code).toBe(2);
    expect(variables.sort()).toEqual(
      [
        'KS_ONBOARD_APPROVAL_TIMEOUT',
        'KS_ONBOARD_CODEC_KEYS',
        'KS_ONBOARD_SHUTDOWN_GRACE',
        'KUBESPHERE_PASSWORD',
        'TEMPORAL_ADDRESS',
        'TEMPORAL_TLS_CA',
      ].sort(),
    );
    expect(logins).toBe(1);
    expect(report.checks.find((c) => c.name === 'temporal:connect')).toMatchObject({ ok: false, skipped: true });
  });

  it('every problem of a section in one run: bad values hide neither the key files after them nor tracing', async () => {
    const { code, variables, failed } = await check({
      ...goodEnv(),
      KS_ONBOARD_MAX_CONCURRENT_ACTIVITIES: 'many',
      KS_ONBOARD_SHUTDOWN_GRACE: 'a while',
      KS_ONBOARD_SEAL_PRIVATE_KEYS: `${join(dir, 'missing-1.pem')},${join(dir, 'seal-public.pem')}`,
      KS_ONBOARD_AUDIT: 'syslog',
      KS_ONBOARD_TRACING: 'maybe',
    });
    expect(variables.sort()).toEqual(
      [
        'KS_ONBOARD_AUDIT',
        'KS_ONBOARD_MAX_CONCURRENT_ACTIVITIES',
        'KS_ONBOARD_SEAL_PRIVATE_KEYS',
        'KS_ONBOARD_SEAL_PRIVATE_KEYS',
        'KS_ONBOARD_SHUTDOWN_GRACE',
        'KS_ONBOARD_TRACING',
      ].sort(),
    );
    const keys = failed.filter((c) => c.variable === 'KS_ONBOARD_SEAL_PRIVATE_KEYS').map((c) => c.message);
    expect(keys).toEqual([
      expect.stringMatching(/missing-1\.pem: /),
      expect.stringMatching(/seal-public\.pem: is a public key/),
    ]);
    expect(code).toBe(2);
  });

  it("the human form tags each problem with its variable, the placement file's too", async () => {
    const { code, output } = await runCli(['config', 'check'], {
      ...goodEnv(),
      KS_ONBOARD_PLACEMENT: join(dir, 'no-placement.yaml'),
    });
    expect(output).toMatch(
      /FAIL {2}config:hr: KS_ONBOARD_PLACEMENT \(.*no-placement\.yaml\): .* {2}\[KS_ONBOARD_PLACEMENT\]$/m,
    );
    expect(code).toBe(2);
  });

  it("values another variable gives are shown as such, not as defaults: a secret file, OTLP's endpoint", async () => {
    const secretFile = join(dir, 'notify-secret');
    writeFileSync(secretFile, `${SECRETS.KS_ONBOARD_NOTIFY_SECRET}\n`);
    const env = {
      ...goodEnv(),
      KS_ONBOARD_NOTIFY_SECRET: undefined,
      KS_ONBOARD_NOTIFY_SECRET_FILE: secretFile,
      KS_ONBOARD_NOTIFY_URL: `http://chat.internal${NOTIFY_PATH}`,
      KS_ONBOARD_NOTIFY_ALLOW_HTTP: '1',
      KS_ONBOARD_TRACING: undefined,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
    };
    const { code, report, failed } = await check(env);
    expect(failed).toEqual([]);
    expect(code).toBe(0);
    const notify = report.config.notify!;
    expect(notify.values).toMatchObject({
      KS_ONBOARD_NOTIFY_SECRET: '*** (from KS_ONBOARD_NOTIFY_SECRET_FILE)',
      KS_ONBOARD_NOTIFY_SECRET_FILE: secretFile,
      KS_ONBOARD_NOTIFY_ALLOW_HTTP: '1',
    });
    expect(notify.defaults).not.toContain('KS_ONBOARD_NOTIFY_SECRET');
    const observability = report.config.observability!;
    expect(observability.values?.KS_ONBOARD_TRACING).toBe(
      'on: http://otel-collector:4318/v1/traces (set by OTEL_EXPORTER_OTLP_ENDPOINT)',
    );
    expect(observability.defaults).not.toContain('KS_ONBOARD_TRACING');
    const human = await runCli(['config', 'check'], env);
    expect(human.output).toMatch(/^ {2}KS_ONBOARD_NOTIFY_SECRET +\*\*\* \(from KS_ONBOARD_NOTIFY_SECRET_FILE\)$/m);
    expect(human.output).toMatch(/^ {2}KS_ONBOARD_NOTIFY_SECRET_FILE +\S+notify-secret$/m);
    expect(human.output).toMatch(/^ {2}KS_ONBOARD_NOTIFY_ALLOW_HTTP +1$/m);
    expect(human.output).toMatch(/^ {2}KS_ONBOARD_TRACING +on: \S+ \(set by OTEL_EXPORTER_OTLP_ENDPOINT\)$/m);
    expect(human.output).not.toContain(SECRETS.KS_ONBOARD_NOTIFY_SECRET);
  });

  it(
    'search attributes: missing ones the worker will register pass; missing ones it cannot (no SQL slot left) are named',
    { timeout: 60_000 },
    async () => {
      const connection = await Connection.connect({ address: inject('temporalAddress') });
      const namespace = async (attributes: Record<string, number>) => {
        const name = `cc-${randomBytes(5).toString('hex')}`;
        await connection.workflowService.registerNamespace({
          namespace: name,
          workflowExecutionRetentionPeriod: msToTs('1 day'),
        });
        await eventually(() => connection.workflowService.describeNamespace({ namespace: name }), 20_000);
        if (Object.keys(attributes).length)
          await connection.operatorService.addSearchAttributes({ namespace: name, searchAttributes: attributes });
        return name;
      };
      try {
        const fresh = await check({ ...goodEnv(), TEMPORAL_NAMESPACE: await namespace({}) });
        expect(fresh.failed).toEqual([]);
        expect(fresh.code).toBe(0);
        expect(fresh.report.checks.find((c) => c.name === 'temporal:search-attributes')?.message).toMatch(
          /missing OnboardingUsername \(Keyword\).*the worker registers them at start/,
        );
        const keyword = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
        const full = await namespace(Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`Filler${i}`, keyword])));
        const { code, failed, variables } = await check({ ...goodEnv(), TEMPORAL_NAMESPACE: full });
        expect(variables).toEqual(['TEMPORAL_NAMESPACE']);
        expect(failed[0]!.message).toMatch(/uses 8 of its 10 Keyword slots and 5 more are needed/);
        expect(code).toBe(2);
      } finally {
        await connection.close();
      }
    },
  );

  it('--for intake asks for what the intake needs, not the worker account', { timeout: 60_000 }, async () => {
    const env = { ...goodEnv(), KUBESPHERE_HOST: undefined, KS_ONBOARD_PLACEMENT: undefined };
    const { code, variables, logins } = await check(env, ['--for', 'intake']);
    expect(variables).toEqual(['KS_ONBOARD_PLACEMENT']);
    expect(code).toBe(2);
    expect(logins).toBe(0);
  });
});
