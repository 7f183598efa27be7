import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  constants,
  type KeyObject,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Field-level sealing of passwords: whoever starts a workflow seals with the public key; only workers
 * hold the private key. So the password never sits in Temporal history (or the Web UI) as plaintext.
 * Format: `ks-sealed:v1:<key id>:<base64url RSA-OAEP-SHA256 ciphertext>`.
 */
const PREFIX = 'ks-sealed:v1:';

export class SealError extends Error {
  override readonly name = 'SealError';
}

export function keyId(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

export function seal(plaintext: string, publicKeyPem: string): string {
  const key = createPublicKey(publicKeyPem);
  const ciphertext = publicEncrypt(
    { key, oaepHash: 'sha256', padding: constants.RSA_PKCS1_OAEP_PADDING },
    Buffer.from(plaintext, 'utf8'),
  );
  return `${PREFIX}${keyId(key)}:${ciphertext.toString('base64url')}`;
}

/** Opens a sealed value with whichever of the private keys (a key ring, for rotation) sealed it. */
export class Unsealer {
  private readonly keys = new Map<string, KeyObject>();

  constructor(privateKeyPems: string[]) {
    for (const pem of privateKeyPems) {
      const key = createPrivateKey(pem);
      this.keys.set(keyId(createPublicKey(key)), key);
    }
  }

  open(sealed: string): string {
    if (!isSealed(sealed)) throw new SealError('the value is not sealed; refusing a plaintext secret');
    const [kid, data] = sealed.slice(PREFIX.length).split(':');
    const key = this.keys.get(kid ?? '');
    if (!key) throw new SealError(`no private key with id ${kid} on this worker (sealed for another key ring?)`);
    try {
      return privateDecrypt(
        { key, oaepHash: 'sha256', padding: constants.RSA_PKCS1_OAEP_PADDING },
        Buffer.from(data ?? '', 'base64url'),
      ).toString('utf8');
    } catch {
      throw new SealError(`the sealed value could not be opened with key ${kid} (corrupted?)`);
    }
  }
}

/** For the embedded defaults: a key pair under .data/keys, made on first use. */
export function ensureDevKeyPair(privatePath: string, publicPath: string): void {
  if (existsSync(privatePath) && existsSync(publicPath)) return;
  mkdirSync(dirname(privatePath), { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
  writeFileSync(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(publicPath, publicKey.export({ type: 'spki', format: 'pem' }));
}

export function readPem(path: string): string {
  return readFileSync(path, 'utf8');
}
