import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, notifyConfig } from '../config.js';
import { parseNotifyConfig } from './config.js';
import { NOTIFY_EVENT_TYPES } from './events.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const URL_OK = 'https://chat.example.com/hooks/T0/B0/abcdef?channel=ops';
const base = { KS_ONBOARD_NOTIFY_URL: URL_OK, KS_ONBOARD_NOTIFY_SECRET: SECRET };

function refusal(env: NodeJS.ProcessEnv): ConfigError {
  try {
    parseNotifyConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseNotifyConfig', () => {
  it('is off without a URL (and an empty variable is an unset one)', () => {
    expect(parseNotifyConfig({})).toBeUndefined();
    expect(
      parseNotifyConfig({ KS_ONBOARD_NOTIFY_URL: '  ', KS_ONBOARD_NOTIFY_EVENTS: 'batch.paused' }),
    ).toBeUndefined();
  });

  it('reads a full configuration with its defaults: every event, a 12h warning', () => {
    expect(parseNotifyConfig(base)).toEqual({
      url: URL_OK,
      secret: SECRET,
      events: [...NOTIFY_EVENT_TYPES],
      expiryWarningMs: 12 * 3_600_000,
    });
  });

  describe('KS_ONBOARD_NOTIFY_URL', () => {
    it.each(['http://127.0.0.1:9000/hook', 'http://localhost/hook', 'http://[::1]:8080/'])(
      'takes http to a loopback host: %s',
      (url) => expect(parseNotifyConfig({ ...base, KS_ONBOARD_NOTIFY_URL: url })?.url).toBe(new URL(url).href),
    );

    it('refuses http to another host unless KS_ONBOARD_NOTIFY_ALLOW_HTTP=1', () => {
      const env = { ...base, KS_ONBOARD_NOTIFY_URL: 'http://alerts.internal/hook' };
      expect(refusal(env).message).toMatch(/KS_ONBOARD_NOTIFY_URL: must be https .*KS_ONBOARD_NOTIFY_ALLOW_HTTP=1/);
      expect(parseNotifyConfig({ ...env, KS_ONBOARD_NOTIFY_ALLOW_HTTP: '1' })?.url).toBe('http://alerts.internal/hook');
      expect(parseNotifyConfig({ ...env, KS_ONBOARD_NOTIFY_ALLOW_HTTP: 'true' })?.url).toBe(
        'http://alerts.internal/hook',
      );
      expect(() => parseNotifyConfig({ ...env, KS_ONBOARD_NOTIFY_ALLOW_HTTP: '0' })).toThrow(/must be https/);
    });

    it.each([
      ['not a URL', 'notify.internal/hook', /must be an https URL/],
      ['another scheme', 'ftp://chat.example.com/hook', /must be an https URL/],
      ['credentials', 'https://bot:hunter2@chat.example.com/hook', /must not carry credentials/],
      ['a fragment', 'https://chat.example.com/hook#x', /must not have a #fragment/],
    ])('refuses %s, without quoting the URL', (_what, url, message) => {
      const error = refusal({ ...base, KS_ONBOARD_NOTIFY_URL: url });
      expect(error.message).toMatch(/^bad configuration: KS_ONBOARD_NOTIFY_URL: /);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('hunter2');
      expect(error.message).not.toContain(url);
    });
  });

  describe('KS_ONBOARD_NOTIFY_ALLOW_HTTP', () => {
    it('is 1, 0, true or false', () => {
      expect(refusal({ ...base, KS_ONBOARD_NOTIFY_ALLOW_HTTP: 'yes' }).message).toMatch(
        /KS_ONBOARD_NOTIFY_ALLOW_HTTP: must be 1 or 0/,
      );
    });
  });

  describe('KS_ONBOARD_NOTIFY_SECRET and KS_ONBOARD_NOTIFY_SECRET_FILE', () => {
    it('needs a secret when a URL is set: notices are always signed', () => {
      expect(refusal({ KS_ONBOARD_NOTIFY_URL: URL_OK }).message).toMatch(
        /KS_ONBOARD_NOTIFY_SECRET: notifications are signed/,
      );
    });

    it('refuses a secret without a URL: someone meant to be notified', () => {
      expect(refusal({ KS_ONBOARD_NOTIFY_SECRET: SECRET }).message).toMatch(
        /KS_ONBOARD_NOTIFY_URL: a notification secret is set/,
      );
    });

    it.each([
      ['no prefix', randomBytes(32).toString('base64')],
      ['not base64', 'whsec_***not-base64***'],
      ['too short', `whsec_${randomBytes(8).toString('base64')}`],
      ['too long', `whsec_${randomBytes(80).toString('base64')}`],
    ])('refuses a secret with %s, without quoting it', (_what, secret) => {
      const error = refusal({ ...base, KS_ONBOARD_NOTIFY_SECRET: secret });
      expect(error.message).toMatch(/KS_ONBOARD_NOTIFY_SECRET: is not a Standard Webhooks secret/);
      expect(error.message).not.toContain(secret);
    });

    it('reads the secret from a file (trailing newline dropped)', () => {
      const dir = mkdtempSync(join(tmpdir(), 'notify-'));
      const file = join(dir, 'secret');
      writeFileSync(file, `${SECRET}\n`);
      chmodSync(file, 0o600);
      const env = { KS_ONBOARD_NOTIFY_URL: URL_OK, KS_ONBOARD_NOTIFY_SECRET_FILE: file };
      expect(parseNotifyConfig(env)?.secret).toBe(SECRET);

      writeFileSync(file, 'whsec_short');
      const bad = refusal(env);
      expect(bad.message).toMatch(/KS_ONBOARD_NOTIFY_SECRET_FILE: is not a Standard Webhooks secret/);
      expect(bad.message).not.toContain('whsec_short');
    });

    it('names a file it cannot read, and refuses both variables at once', () => {
      const missing = join(tmpdir(), `no-such-${randomBytes(4).toString('hex')}`);
      expect(refusal({ KS_ONBOARD_NOTIFY_URL: URL_OK, KS_ONBOARD_NOTIFY_SECRET_FILE: missing }).message).toMatch(
        /KS_ONBOARD_NOTIFY_SECRET_FILE: cannot read .*no-such-.*\(ENOENT\)/,
      );
      expect(refusal({ ...base, KS_ONBOARD_NOTIFY_SECRET_FILE: missing }).message).toMatch(/not both/);
    });
  });

  describe('KS_ONBOARD_NOTIFY_EVENTS', () => {
    it('takes a comma-separated subset (spaces and repeats forgiven)', () => {
      expect(
        parseNotifyConfig({ ...base, KS_ONBOARD_NOTIFY_EVENTS: ' onboarding.failed, batch.paused,onboarding.failed' })
          ?.events,
      ).toEqual(['onboarding.failed', 'batch.paused']);
    });

    it.each([
      ['an unknown event', 'onboarding.failed,approval.pending', /unknown event "approval.pending"/],
      ['only commas', ',,', /a comma-separated list of approval.awaiting/],
    ])('refuses %s, listing the known ones', (_what, value, message) => {
      const error = refusal({ ...base, KS_ONBOARD_NOTIFY_EVENTS: value });
      expect(error.message).toMatch(/KS_ONBOARD_NOTIFY_EVENTS: /);
      expect(error.message).toMatch(message);
    });
  });

  describe('KS_ONBOARD_NOTIFY_EXPIRY_WARNING', () => {
    it.each([
      ['1m', 60_000],
      ['90m', 5_400_000],
      ['1d', 86_400_000],
      ['7d', 7 * 86_400_000],
    ])('takes %s', (value, ms) =>
      expect(parseNotifyConfig({ ...base, KS_ONBOARD_NOTIFY_EXPIRY_WARNING: value })?.expiryWarningMs).toBe(ms),
    );

    it.each([
      ['12', /must look like 90s, 15m, 72h or 7d/],
      ['-1h', /must look like/],
      ['30s', /must be between 1m and 7d/],
      ['8d', /must be between 1m and 7d/],
    ])('refuses %s', (value, message) => {
      const error = refusal({ ...base, KS_ONBOARD_NOTIFY_EXPIRY_WARNING: value });
      expect(error.message).toMatch(/KS_ONBOARD_NOTIFY_EXPIRY_WARNING: /);
      expect(error.message).toMatch(message);
    });
  });

  it('names every bad variable at once', () => {
    const error = refusal({
      ...base,
      KS_ONBOARD_NOTIFY_EVENTS: 'nope',
      KS_ONBOARD_NOTIFY_EXPIRY_WARNING: 'soon',
    });
    expect(error.message).toMatch(/KS_ONBOARD_NOTIFY_EVENTS: .*; KS_ONBOARD_NOTIFY_EXPIRY_WARNING: /);
  });
});

describe('notifyConfig (src/config.ts)', () => {
  it('adds the Web UI address for links when it is known', () => {
    expect(notifyConfig({ ...base, TEMPORAL_UI_URL: 'https://temporal.example.com/' })?.webUiUrl).toBe(
      'https://temporal.example.com',
    );
    expect(notifyConfig({ ...base, TEMPORAL_ADDRESS: 'temporal.example.com:7233' })?.webUiUrl).toBeUndefined();
    expect(notifyConfig({ TEMPORAL_UI_URL: 'https://temporal.example.com' })).toBeUndefined();
  });
});
