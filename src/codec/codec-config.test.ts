import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config.js';
import { isLoopbackHost, parseCodecConfig, parseCodecKeyRing, requireKeyRing } from './codec-config.js';

const key = () => randomBytes(32).toString('base64');
const TOKEN = randomBytes(24).toString('hex');

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseCodecConfig', () => {
  it('defaults: no encryption, 127.0.0.1:8888, the dev Web UI origin, no authentication', () => {
    expect(parseCodecConfig({})).toEqual({
      port: 8888,
      host: '127.0.0.1',
      corsOrigin: 'http://localhost:8233',
      auth: 'none',
    });
  });

  it('reads every variable', () => {
    const config = parseCodecConfig({
      KS_ONBOARD_CODEC_KEYS: `new:${key()},old:${key()}`,
      KS_ONBOARD_CODEC_PORT: '9999',
      KS_ONBOARD_CODEC_HOST: '0.0.0.0',
      KS_ONBOARD_CODEC_CORS_ORIGIN: 'https://temporal.example.com',
      KS_ONBOARD_CODEC_AUTH: 'kubesphere',
      KS_ONBOARD_CODEC_ALLOWED_USERS: ' alice, bob ,alice',
    });
    expect(config).toMatchObject({
      port: 9999,
      host: '0.0.0.0',
      corsOrigin: 'https://temporal.example.com',
      auth: 'kubesphere',
      allowedUsers: ['alice', 'bob'],
    });
    expect(config.keyRing?.primary.id).toBe('new');
    expect(config.keyRing?.ids).toEqual(['new', 'old']);
    expect(requireKeyRing(config)).toBe(config.keyRing);
  });

  it('token mode takes a long token', () => {
    expect(
      parseCodecConfig({ KS_ONBOARD_CODEC_AUTH: 'token', KS_ONBOARD_CODEC_TOKEN: TOKEN, KS_ONBOARD_CODEC_HOST: '::' }),
    ).toMatchObject({ auth: 'token', token: TOKEN, host: '::' });
  });

  it('refuses a malformed key ring naming the variable and the entry, never the key', () => {
    const good = key();
    const bad = randomBytes(16).toString('base64');
    const error = errorOf(() => parseCodecConfig({ KS_ONBOARD_CODEC_KEYS: `a:${good},b:${bad}` }));
    expect(error.message).toBe(
      'bad configuration: KS_ONBOARD_CODEC_KEYS: key ring entry 2 (id "b"): the key must be 32 bytes, not 16 (make one with: openssl rand -base64 32)',
    );
    expect(error.message).not.toContain(good);
    expect(error.message).not.toContain(bad);
  });

  it('refuses a key ring set but empty (never a silent "no encryption")', () => {
    expect(errorOf(() => parseCodecKeyRing({ KS_ONBOARD_CODEC_KEYS: '' })).message).toMatch(
      /^bad configuration: KS_ONBOARD_CODEC_KEYS: the key ring is empty/,
    );
    expect(parseCodecKeyRing({})).toBeUndefined();
  });

  it.each([
    [{ KS_ONBOARD_CODEC_PORT: '70000' }, /KS_ONBOARD_CODEC_PORT: /],
    [{ KS_ONBOARD_CODEC_PORT: 'http' }, /KS_ONBOARD_CODEC_PORT: /],
    [{ KS_ONBOARD_CODEC_HOST: 'a host' }, /KS_ONBOARD_CODEC_HOST: must be an address or host name/],
    [{ KS_ONBOARD_CODEC_AUTH: 'oidc' }, /KS_ONBOARD_CODEC_AUTH: must be none, kubesphere or token/],
    [
      { KS_ONBOARD_CODEC_CORS_ORIGIN: 'http://localhost:8233/' },
      /KS_ONBOARD_CODEC_CORS_ORIGIN: must be the Web UI's origin/,
    ],
    [{ KS_ONBOARD_CODEC_CORS_ORIGIN: 'localhost:8233' }, /KS_ONBOARD_CODEC_CORS_ORIGIN: .*got "localhost:8233"/],
    [{ KS_ONBOARD_CODEC_CORS_ORIGIN: '*' }, /KS_ONBOARD_CODEC_CORS_ORIGIN: /],
    [{ KS_ONBOARD_CODEC_CORS_ORIGIN: 'https://ui.example.com/temporal' }, /KS_ONBOARD_CODEC_CORS_ORIGIN: /],
    [{ KS_ONBOARD_CODEC_AUTH: 'token' }, /KS_ONBOARD_CODEC_TOKEN: is required with KS_ONBOARD_CODEC_AUTH=token/],
    [
      { KS_ONBOARD_CODEC_AUTH: 'kubesphere', KS_ONBOARD_CODEC_ALLOWED_USERS: ' , ' },
      /KS_ONBOARD_CODEC_ALLOWED_USERS: must list at least one KubeSphere username/,
    ],
    [
      { KS_ONBOARD_CODEC_AUTH: 'kubesphere', KS_ONBOARD_CODEC_ALLOWED_USERS: 'alice,Bob Smith' },
      /KS_ONBOARD_CODEC_ALLOWED_USERS: "Bob Smith" must be lower-case/,
    ],
    [
      { KS_ONBOARD_CODEC_ALLOWED_USERS: 'alice' },
      /KS_ONBOARD_CODEC_ALLOWED_USERS: applies to .*=kubesphere only, not none/,
    ],
  ])('refuses %j naming the variable', (env, message) => {
    expect(errorOf(() => parseCodecConfig(env)).message).toMatch(message);
  });

  it.each(['0.0.0.0', '::', '10.0.0.5', 'codec.example.com'])(
    'refuses auth none on the non-loopback host %s',
    (host) => {
      expect(errorOf(() => parseCodecConfig({ KS_ONBOARD_CODEC_HOST: host })).message).toMatch(
        /KS_ONBOARD_CODEC_AUTH: none is allowed only on a loopback address \(KS_ONBOARD_CODEC_HOST is .+\)/,
      );
    },
  );

  it('never echoes a token, whatever is wrong with it', () => {
    const shortToken = 'tooshort-secret';
    for (const env of [
      { KS_ONBOARD_CODEC_AUTH: 'token', KS_ONBOARD_CODEC_TOKEN: shortToken },
      { KS_ONBOARD_CODEC_AUTH: 'token', KS_ONBOARD_CODEC_TOKEN: `${TOKEN} x` },
      { KS_ONBOARD_CODEC_AUTH: 'kubesphere', KS_ONBOARD_CODEC_TOKEN: TOKEN, KS_ONBOARD_CODEC_HOST: '0.0.0.0' },
    ]) {
      const error = errorOf(() => parseCodecConfig(env));
      expect(error.message).toMatch(/KS_ONBOARD_CODEC_TOKEN: /);
      expect(error.message).not.toContain(shortToken);
      expect(error.message).not.toContain(TOKEN);
    }
  });

  it('requireKeyRing names the variable when no key ring is set', () => {
    expect(() => requireKeyRing(parseCodecConfig({}))).toThrow(/^KS_ONBOARD_CODEC_KEYS: the codec server needs/);
  });
});

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1'])(
    '%s is loopback',
    (host) => expect(isLoopbackHost(host)).toBe(true),
  );
  it.each([
    '0.0.0.0',
    '::',
    '',
    '10.0.0.1',
    '128.0.0.1',
    '::ffff:10.0.0.1',
    'localhost.example.com',
    '127.0.0.1.nip.io',
  ])('%j is not', (host) => expect(isLoopbackHost(host)).toBe(false));
});
