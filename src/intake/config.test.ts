import { describe, expect, it } from 'vitest';
import { parseHrConfig, parseIntakeConfig } from './config.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const MAPPING = 'samples/placement.yaml';

describe('HR settings', () => {
  it('are off when nothing is set, and complete with a secret and a mapping', () => {
    expect(parseHrConfig({})).toBeUndefined();
    const hr = parseHrConfig({ KS_ONBOARD_WEBHOOK_SECRETS: SECRET, KS_ONBOARD_PLACEMENT: MAPPING });
    expect(hr).toMatchObject({ timeZone: 'UTC', leadTimeMs: 2 * 86_400_000, mappingFile: MAPPING });
    expect(Object.keys(hr!.mapping!.departments)).toContain('Payments');
  });

  it('refuse, naming the variable, what would fail every hire later', () => {
    expect(() => parseHrConfig({ KS_ONBOARD_WEBHOOK_SECRETS: SECRET })).toThrow(
      /KS_ONBOARD_PLACEMENT: webhook secrets are set, so the placement mapping file is needed too/,
    );
    expect(() =>
      parseHrConfig({ KS_ONBOARD_HIBOB_SECRETS: 'bob-secret-0123456789', KS_ONBOARD_PLACEMENT: MAPPING }),
    ).toThrow(/KS_ONBOARD_HIBOB_SERVICE_USER: HiBob secrets are set/);
    expect(() =>
      parseHrConfig({
        KS_ONBOARD_WEBHOOK_SECRETS: SECRET,
        KS_ONBOARD_PLACEMENT: MAPPING,
        KS_ONBOARD_HR_TIME_ZONE: 'Mars/Base',
      }),
    ).toThrow(/KS_ONBOARD_HR_TIME_ZONE: "Mars\/Base" is not a time zone/);
    expect(() =>
      parseHrConfig({
        KS_ONBOARD_WEBHOOK_SECRETS: SECRET,
        KS_ONBOARD_PLACEMENT: MAPPING,
        KS_ONBOARD_HR_LEAD_TIME: '90d',
      }),
    ).toThrow(/KS_ONBOARD_HR_LEAD_TIME: must be between 0d and 60d/);
  });

  it('the intake needs a mapping and a secret, and says which port or host is wrong', () => {
    expect(() => parseIntakeConfig({})).toThrow(/KS_ONBOARD_PLACEMENT: the HR intake needs a placement mapping file/);
    const base = { KS_ONBOARD_WEBHOOK_SECRETS: SECRET, KS_ONBOARD_PLACEMENT: MAPPING };
    expect(parseIntakeConfig(base)).toMatchObject({ port: 8787, host: '127.0.0.1' });
    expect(() => parseIntakeConfig({ ...base, KS_ONBOARD_INTAKE_PORT: '99999' })).toThrow(
      /KS_ONBOARD_INTAKE_PORT: must be a port number \(0 to 65535\)/,
    );
    expect(() => parseIntakeConfig({ ...base, KS_ONBOARD_INTAKE_HOST: 'not a host' })).toThrow(
      /KS_ONBOARD_INTAKE_HOST: must be an address or host name/,
    );
    expect(() => parseIntakeConfig({ ...base, KS_ONBOARD_INTAKE_TOKEN: 'short' })).toThrow(
      /KS_ONBOARD_INTAKE_TOKEN: must be at least 24 characters/,
    );
  });
});
