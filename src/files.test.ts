import { generateKeyPairSync } from 'node:crypto';
import type * as Fs from 'node:fs';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError } from './config.js';
import { readPrivateKeyFile, readPublicKeyFile, readSecretFile } from './files.js';

/**
 * Root reads every file whatever its mode, so a file of mode 000 (stat works, open fails with EACCES) is
 * simulated for this one path.
 */
const UNREADABLE = join(tmpdir(), 'ks-files-test-unreadable');
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof Fs>();
  const statSync = (path: string) =>
    path === UNREADABLE ? { isDirectory: () => false, isFile: () => true, size: 10 } : fs.statSync(path);
  const readFileSync = (path: string, encoding: BufferEncoding) => {
    if (path === UNREADABLE)
      throw Object.assign(new Error(`EACCES: permission denied, open '${path}'`), { code: 'EACCES' });
    return fs.readFileSync(path, encoding);
  };
  return { ...fs, statSync, readFileSync };
});

const dir = mkdtempSync(join(tmpdir(), 'ks-files-'));
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const publicPem = file('public.pem', rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string);
const privatePem = file('private.pem', rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
const encryptedPkcs8 = file(
  'encrypted.pem',
  rsa.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string,
);
const encryptedPkcs1 = file(
  'encrypted-rsa.pem',
  rsa.privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string,
);
const ecPublic = file('ec-public.pem', ec.publicKey.export({ type: 'spki', format: 'pem' }) as string);
const ecPrivate = file('ec-private.pem', ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
const text = file('hostname', 'build-host-7\n');
const subdir = join(dir, 'keys');
mkdirSync(subdir);
const missing = join(dir, 'nope.pem');
const big = file('big', 'x'.repeat(1024 * 1024 + 1));

/** The error `run` throws, checked to be of `type` and free of errno codes and OpenSSL internals. */
function errorOf(run: () => unknown, type: typeof ConfigError): Error {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).not.toMatch(/error:[0-9A-F]{8}|routines|DECODER|ENOENT|EISDIR|EACCES/);
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('readPublicKeyFile', () => {
  const source = 'KS_ONBOARD_SEAL_PUBLIC_KEY';
  const expected = "(expected the workers' public key, e.g. .data/keys/seal-public.pem)";

  it('returns the PEM of an RSA public key', () => {
    expect(readPublicKeyFile(publicPem, source)).toContain('-----BEGIN PUBLIC KEY-----');
  });

  it.each([
    ['a file that is no key', text, 'not a PEM public key'],
    ['a missing file', missing, 'does not exist'],
    ['a directory', subdir, 'is a directory'],
    ['an unreadable file', UNREADABLE, 'cannot be read: permission denied'],
    ['a huge file', big, 'is 1048577 bytes, too large'],
    [
      'the private key',
      privatePem,
      'is a private key; give the public key instead, and keep the private key on the workers only',
    ],
    ['an EC key', ecPublic, 'holds a key of type ec; sealing needs RSA'],
    ['an empty path', '', 'no file named'],
  ])('refuses %s with exit 2, naming the variable, the file and what is expected', (_label, path, problem) => {
    const error = errorOf(() => readPublicKeyFile(path, source), ConfigError);
    expect(error.message).toBe(`${source}=${path}: ${problem} ${expected}`);
  });

  it('names a flag just as well', () => {
    expect(errorOf(() => readPublicKeyFile(text, '--seal-public-key'), ConfigError).message).toMatch(
      /^--seal-public-key=.*hostname: not a PEM public key/,
    );
  });
});

describe('readPrivateKeyFile', () => {
  const expected = "(expected the workers' private key, e.g. .data/keys/seal-private.pem)";

  it('returns the PEM of an RSA private key', () => {
    expect(readPrivateKeyFile(privatePem)).toContain('PRIVATE KEY-----');
  });

  it.each([
    ['a file that is no key', text, 'not a PEM private key'],
    ['the public key', publicPem, 'is a public key, not the private key'],
    ['an encrypted PKCS#8 key', encryptedPkcs8, 'is encrypted with a passphrase; the worker needs it unencrypted'],
    ['an encrypted PKCS#1 key', encryptedPkcs1, 'is encrypted with a passphrase; the worker needs it unencrypted'],
    ['an EC key', ecPrivate, 'holds a key of type ec; unsealing needs RSA'],
    ['a missing file', missing, 'does not exist'],
    ['a directory', subdir, 'is a directory'],
    ['an unreadable file', UNREADABLE, 'cannot be read: permission denied'],
  ])('refuses %s with a ConfigError naming KS_ONBOARD_SEAL_PRIVATE_KEYS and the file', (_label, path, problem) => {
    const error = errorOf(() => readPrivateKeyFile(path), ConfigError);
    expect(error.message).toMatch(`KS_ONBOARD_SEAL_PRIVATE_KEYS: ${path}: ${problem}`);
    expect(error.message).toMatch(expected);
  });
});

describe('readSecretFile', () => {
  const expected = '(expected a file holding the initial password)';
  const read = (path: string) => readSecretFile(path, '--password-file', 'a file holding the initial password');

  it('strips exactly one trailing newline', () => {
    expect(read(file('pw1', 'Passw0rd1\n'))).toBe('Passw0rd1');
    expect(read(file('pw2', 'Passw0rd1\r\n'))).toBe('Passw0rd1');
    expect(read(file('pw3', 'Passw0rd1\n\n'))).toBe('Passw0rd1\n');
    expect(read(file('pw4', ' Passw0rd1 '))).toBe(' Passw0rd1 ');
  });

  it.each([
    ['a missing file', missing, 'does not exist'],
    ['a directory', subdir, 'is a directory'],
    ['an unreadable file', UNREADABLE, 'cannot be read: permission denied'],
    ['an empty file', file('empty', '\n'), 'is empty'],
  ])('refuses %s with exit 2, naming the flag and what is expected', (_label, path, problem) => {
    expect(errorOf(() => read(path), ConfigError).message).toBe(`--password-file=${path}: ${problem} ${expected}`);
  });

  it('never shows the content', () => {
    const path = file('secret-dir-like', 'hunter2');
    expect(() => readSecretFile(join(path, 'x'), '--password-file')).toThrow(/a part of the path is not a directory/);
    expect(() => readSecretFile(join(path, 'x'), '--password-file')).not.toThrow(/hunter2/);
  });
});
