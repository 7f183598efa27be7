import { describe, expect, it } from 'vitest';
import { newWebhookSecret } from '../../../test/helpers/hr-vendors.js';
import { ConfigError } from '../../config.js';
import { hrVendorConfig } from './config.js';

const whsecA = newWebhookSecret();
const whsecB = newWebhookSecret();

function refused(env: NodeJS.ProcessEnv): ConfigError {
  try {
    hrVendorConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('hrVendorConfig', () => {
  it('configures nothing when nothing is set (or set empty)', () => {
    const empty = { secrets: { generic: [], bamboohr: [], hibob: [] }, api: {} };
    expect(hrVendorConfig({})).toEqual(empty);
    expect(hrVendorConfig({ KS_ONBOARD_WEBHOOK_SECRETS: '', KS_ONBOARD_BAMBOOHR_API_URL: ' ' })).toEqual(empty);
  });

  it('reads every variable: lists of secrets for rotation, API bases, credentials', () => {
    expect(
      hrVendorConfig({
        KS_ONBOARD_WEBHOOK_SECRETS: `${whsecA}, ${whsecB}`,
        KS_ONBOARD_BAMBOOHR_SECRETS: 'old-key,new-key',
        KS_ONBOARD_HIBOB_SECRETS: 'bob-secret',
        KS_ONBOARD_BAMBOOHR_API_URL: 'https://api.bamboohr.com/api/gateway.php/acme/',
        KS_ONBOARD_BAMBOOHR_API_KEY: 'bhr-key',
        KS_ONBOARD_HIBOB_SERVICE_USER: 'SERVICE-1:tok:en',
      }),
    ).toEqual({
      secrets: { generic: [whsecA, whsecB], bamboohr: ['old-key', 'new-key'], hibob: ['bob-secret'] },
      api: {
        bamboohr: { baseUrl: 'https://api.bamboohr.com/api/gateway.php/acme', apiKey: 'bhr-key' },
        hibob: { baseUrl: 'https://api.hibob.com', serviceUserId: 'SERVICE-1', token: 'tok:en' },
      },
    });
    expect(
      hrVendorConfig({
        KS_ONBOARD_HIBOB_SERVICE_USER: 'a:b',
        KS_ONBOARD_HIBOB_API_URL: 'https://api.sandbox.hibob.com',
      }).api.hibob?.baseUrl,
    ).toBe('https://api.sandbox.hibob.com');
  });

  it.each([
    ['without its prefix', whsecA.slice('whsec_'.length)],
    ['not base64', 'whsec_not*base64!'],
    ['too short', `whsec_${Buffer.alloc(16).toString('base64')}`],
  ])('refuses a Standard Webhooks secret %s, naming the entry but never the value', (_, bad) => {
    const error = refused({ KS_ONBOARD_WEBHOOK_SECRETS: `${whsecA},${bad}` });
    expect(error.message).toBe(
      'bad configuration: KS_ONBOARD_WEBHOOK_SECRETS: entry 2 of 2 is not a Standard Webhooks secret (whsec_ and the base64 of 24 to 64 random bytes)',
    );
    expect(error.message).not.toContain(bad.slice(6, 14));
  });

  it('refuses a vendor secret with spaces, without quoting it', () => {
    const error = refused({ KS_ONBOARD_HIBOB_SECRETS: 'pasted secret\n' });
    expect(error.message).toBe(
      'bad configuration: KS_ONBOARD_HIBOB_SECRETS: entry 1 of 1 must be printable ASCII without spaces',
    );
  });

  it('wants the BambooHR URL and key together', () => {
    expect(refused({ KS_ONBOARD_BAMBOOHR_API_KEY: 'k' }).message).toMatch(
      /^bad configuration: KS_ONBOARD_BAMBOOHR_API_URL: set/,
    );
    expect(refused({ KS_ONBOARD_BAMBOOHR_API_URL: 'https://x.example' }).message).toMatch(
      /^bad configuration: KS_ONBOARD_BAMBOOHR_API_KEY: set/,
    );
  });

  it('refuses a URL that is none, or that carries credentials, without quoting it', () => {
    const bad = refused({ KS_ONBOARD_HIBOB_API_URL: 'ftp://files.example', KS_ONBOARD_HIBOB_SERVICE_USER: 'a:b' });
    expect(bad.message).toMatch(/^bad configuration: KS_ONBOARD_HIBOB_API_URL: must be an http\(s\) URL/);
    const withCredentials = refused({
      KS_ONBOARD_BAMBOOHR_API_URL: 'https://key:x@api.bamboohr.com/api/gateway.php/acme',
      KS_ONBOARD_BAMBOOHR_API_KEY: 'key',
    });
    expect(withCredentials.message).toBe(
      'bad configuration: KS_ONBOARD_BAMBOOHR_API_URL: must not carry credentials: they have their own variables',
    );
  });

  it.each(['no-colon-token', ':token-only', 'id:', 'id:two words'])(
    'refuses the service user %j without quoting it',
    (value) => {
      const error = refused({ KS_ONBOARD_HIBOB_SERVICE_USER: value });
      expect(error.message).toBe(
        'bad configuration: KS_ONBOARD_HIBOB_SERVICE_USER: must be <service user id>:<token> (printable ASCII, no spaces)',
      );
    },
  );

  it('refuses an API key a Basic credential cannot carry, without quoting it', () => {
    const error = refused({ KS_ONBOARD_BAMBOOHR_API_URL: 'https://x.example', KS_ONBOARD_BAMBOOHR_API_KEY: 'a:b' });
    expect(error.message).toBe(
      'bad configuration: KS_ONBOARD_BAMBOOHR_API_KEY: must be printable ASCII without spaces or ":"',
    );
  });
});
