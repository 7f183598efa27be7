import { describe, expect, it } from 'vitest';
import { ConfigError, temporalConfig, kubesphereConfig, workerPolicyConfig } from './config.js';

describe('temporalConfig', () => {
  it.each([
    'localhost:7233',
    '127.0.0.1:7233',
    '[::1]:7233',
    'temporal-frontend.temporal.svc.cluster.local:7233',
    'my-ns.a1b2c.tmprl.cloud:7233',
    'temporal_frontend:1',
    'host:65535',
  ])('accepts %s', (address) => {
    expect(temporalConfig({ TEMPORAL_ADDRESS: address }).address).toBe(address);
  });

  it('defaults to localhost:7233', () => {
    expect(temporalConfig({}).address).toBe('localhost:7233');
  });

  it.each([
    'nonsense',
    'localhost',
    'http://localhost:7233',
    'dns:///localhost:7233',
    'localhost:7233/',
    ' localhost:7233',
    'local host:7233',
    'localhost:',
    'localhost:0',
    'localhost:65536',
    'localhost:port',
    '::1:7233',
    '',
  ])('refuses %j, naming the variable and the form host:port', (address) => {
    const attempt = () => temporalConfig({ TEMPORAL_ADDRESS: address });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/^bad configuration: TEMPORAL_ADDRESS: must be host:port, e\.g\. localhost:7233/);
    expect(attempt).toThrow(`got ${JSON.stringify(address)}`);
  });
});

describe('workerPolicyConfig', () => {
  it('keeps platform-admin elevated whatever the list says, and refuses an empty list', () => {
    expect(workerPolicyConfig({ KS_ONBOARD_ELEVATED_ROLES: 'project:admin' }).elevatedRoles).toEqual([
      'platform:platform-admin',
      'project:admin',
    ]);
    expect(() => workerPolicyConfig({ KS_ONBOARD_ELEVATED_ROLES: '' })).toThrow(
      /KS_ONBOARD_ELEVATED_ROLES: must list at least one/,
    );
    expect(workerPolicyConfig({}).elevatedRoles).toContain('workspace:admin');
  });

  it('refuses a policy too large to travel in a batch row: more than 100 elevated roles or 1000 protected workspaces', () => {
    const many = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join(',');
    expect(() =>
      workerPolicyConfig({
        KS_ONBOARD_ELEVATED_ROLES: many(
          101,
          (i) => `project:role-${String.fromCharCode(97 + (i % 26))}${'x'.repeat(i)}`,
        ),
      }),
    ).toThrow(/KS_ONBOARD_ELEVATED_ROLES: must list at most 100 roles/);
    expect(() => workerPolicyConfig({ KS_ONBOARD_PROTECTED_WORKSPACES: many(1001, (i) => `ws-${i}`) })).toThrow(
      /KS_ONBOARD_PROTECTED_WORKSPACES: must list at most 1000 workspaces/,
    );
    expect(
      workerPolicyConfig({ KS_ONBOARD_PROTECTED_WORKSPACES: many(1000, (i) => `ws-${i}`) }).protectedWorkspaces,
    ).toHaveLength(1000);
  });

  it('bounds the approval timeout with the same parser the workflows use', () => {
    expect(workerPolicyConfig({}).approvalTimeoutMs).toBe(72 * 3_600_000);
    expect(workerPolicyConfig({ KS_ONBOARD_APPROVAL_TIMEOUT: '30d' }).approvalTimeoutMs).toBe(30 * 86_400_000);
    expect(() => workerPolicyConfig({ KS_ONBOARD_APPROVAL_TIMEOUT: '99999999999d' })).toThrow(
      /KS_ONBOARD_APPROVAL_TIMEOUT: .* must look like/,
    );
    expect(() => workerPolicyConfig({ KS_ONBOARD_APPROVAL_TIMEOUT: '40d' })).toThrow(
      /KS_ONBOARD_APPROVAL_TIMEOUT: must be between 1m and 30d/,
    );
  });
});

describe('kubesphereConfig', () => {
  const host = { KUBESPHERE_HOST: 'http://ks.example' };
  it('reads a password file at each login, and refuses a password given twice', () => {
    expect(kubesphereConfig({ ...host, KUBESPHERE_USERNAME: 'w', KUBESPHERE_PASSWORD_FILE: '/run/pw' }).login).toEqual({
      username: 'w',
      passwordFile: '/run/pw',
      clientId: 'kubesphere',
      clientSecret: 'kubesphere',
    });
    expect(() =>
      kubesphereConfig({
        ...host,
        KUBESPHERE_USERNAME: 'w',
        KUBESPHERE_PASSWORD: 'x',
        KUBESPHERE_PASSWORD_FILE: '/run/pw',
      }),
    ).toThrow(/KUBESPHERE_PASSWORD_FILE: set KUBESPHERE_PASSWORD or KUBESPHERE_PASSWORD_FILE, not both/);
  });

  it('refuses a host that carries a user or password (it would be printed as it is), without quoting it', () => {
    const attempt = () =>
      kubesphereConfig({ KUBESPHERE_HOST: 'https://admin:S3cret-pw@ks.example', KUBESPHERE_USERNAME: 'w' });
    expect(attempt).toThrow(/KUBESPHERE_HOST: must not carry a user or password/);
    expect(attempt).not.toThrow(/S3cret-pw/);
  });
});
