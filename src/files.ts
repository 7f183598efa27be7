import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from './config.js';

/**
 * Reading the files a person names (keys, secrets), with errors that say which variable or flag, which
 * file and what was expected — never a raw errno or OpenSSL message such as
 * `error:1E08010C:DECODER routines::unsupported`.
 */

/** Far above any PEM key or password: a bigger regular file is the wrong file. */
const MAX_BYTES = 1024 * 1024;

const PUBLIC_KEY = "the workers' public key, e.g. .data/keys/seal-public.pem";
const PRIVATE_KEY = "the workers' private key, e.g. .data/keys/seal-private.pem";
export const SEAL_PRIVATE_KEYS_VARIABLE = 'KS_ONBOARD_SEAL_PRIVATE_KEYS';

/**
 * The PEM public key that seals secrets, from the file named by `source` (a variable or flag, e.g.
 * `KS_ONBOARD_SEAL_PUBLIC_KEY`). Throws a ConfigError (exit 2) naming `source=path` when the file is missing,
 * a directory, unreadable, or not an RSA public key in PEM.
 */
export function readPublicKeyFile(path: string, source: string): string {
  const fail = (problem: string) => new ConfigError(`${source}=${path}: ${problem} (expected ${PUBLIC_KEY})`);
  const pem = readText(path, fail);
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem))
    throw fail('is a private key; give the public key instead, and keep the private key on the workers only');
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw fail('not a PEM public key');
  }
  if (key.asymmetricKeyType !== 'rsa') throw fail(`holds a key of type ${key.asymmetricKeyType}; sealing needs RSA`);
  return pem;
}

/**
 * One PEM private key of the workers' key ring (`KS_ONBOARD_SEAL_PRIVATE_KEYS` lists them). Throws a
 * ConfigError naming the variable and the file when it is missing, a directory, unreadable, encrypted,
 * or not an RSA private key in PEM.
 */
export function readPrivateKeyFile(path: string, source = SEAL_PRIVATE_KEYS_VARIABLE): string {
  const fail = (problem: string) => new ConfigError(`${source}: ${path}: ${problem} (expected ${PRIVATE_KEY})`);
  const pem = readText(path, fail);
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type: 4,ENCRYPTED/m.test(pem))
    throw fail('is encrypted with a passphrase; the worker needs it unencrypted (readable by the worker only)');
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    if (/-----BEGIN [A-Z ]*PUBLIC KEY-----/.test(pem)) throw fail('is a public key, not the private key');
    throw fail('not a PEM private key');
  }
  if (key.asymmetricKeyType !== 'rsa') throw fail(`holds a key of type ${key.asymmetricKeyType}; unsealing needs RSA`);
  return pem;
}

/**
 * A secret (e.g. `--password-file`) without its one trailing newline. Throws a ConfigError (exit 2) naming
 * `source=path` and `expected` when the file is missing, a directory, unreadable or empty. Pipes such as
 * `--password-file <(pass show alice)` work. Never puts the content in an error.
 */
export function readSecretFile(path: string, source: string, expected = 'a file holding the secret'): string {
  const fail = (problem: string) => new ConfigError(`${source}=${path}: ${problem} (expected ${expected})`);
  const secret = readText(path, fail).replace(/\r?\n$/, '');
  if (secret === '') throw fail('is empty');
  return secret;
}

/** The file as UTF-8, or `fail(why)` in words for the usual mistakes. */
function readText(path: string, fail: (problem: string) => Error): string {
  if (path === '') throw fail('no file named');
  let stats;
  try {
    stats = statSync(path);
  } catch (error) {
    throw fail(describeFileError(error as NodeJS.ErrnoException));
  }
  if (stats.isDirectory()) throw fail('is a directory');
  // Only regular files have a size to check: pipes and /dev/stdin are read as they come.
  if (stats.isFile() && stats.size > MAX_BYTES) throw fail(`is ${stats.size} bytes, too large`);
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw fail(describeFileError(error as NodeJS.ErrnoException));
  }
}

/** Why a file cannot be read, in a few words (`does not exist`, `is a directory`, …). */
export function describeFileError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'does not exist';
    case 'ENOTDIR':
      return 'does not exist (a part of the path is not a directory)';
    case 'EISDIR':
      return 'is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read: permission denied';
    case 'ELOOP':
      return 'cannot be read: too many symbolic links';
    default:
      return `cannot be read (${error.code ?? error.message})`;
  }
}
