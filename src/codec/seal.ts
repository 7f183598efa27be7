import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  timingSafeEqual,
  constants,
  type KeyObject,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Field-level sealing of secrets: whoever starts a workflow seals with the public key; only workers
 * hold the private key. So a password or a login token never sits in Temporal history (or the Web UI)
 * as plaintext.
 * - v1, for short values (passwords): `ks-sealed:v1:<key id>:<base64url RSA-OAEP-SHA256 ciphertext>`.
 * - v2, hybrid, for values larger than RSA-OAEP holds (a token with what it is bound to): a fresh AES-256-GCM
 *   key wrapped with RSA-OAEP: `ks-sealed:v2:<key id>:<wrapped key>:<iv>:<ciphertext + tag>` (base64url).
 */
const PREFIX = 'ks-sealed:';
const V1 = `${PREFIX}v1:`;
const V2 = `${PREFIX}v2:`;
const OAEP = { oaepHash: 'sha256', padding: constants.RSA_PKCS1_OAEP_PADDING } as const;

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
  return sealerFor(publicKeyPem)(plaintext);
}

/** A sealer with the key parsed once: an import seals one password a person (parsing is most of a seal's cost). */
export function sealerFor(publicKeyPem: string): (plaintext: string) => string {
  const key = createPublicKey(publicKeyPem);
  const id = keyId(key);
  return (plaintext) =>
    `${V1}${id}:${publicEncrypt({ key, ...OAEP }, Buffer.from(plaintext, 'utf8')).toString('base64url')}`;
}

/** The hybrid seal (v2): any length. */
export function sealLarge(plaintext: string, publicKeyPem: string): string {
  const key = createPublicKey(publicKeyPem);
  const dataKey = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  const wrapped = publicEncrypt({ key, ...OAEP }, dataKey);
  return `${V2}${keyId(key)}:${[wrapped, iv, ciphertext].map((b) => b.toString('base64url')).join(':')}`;
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

  /**
   * A MAC only the workers can make or check (keyed by their private keys): for state a workflow hands to its
   * own next run, which must not be forgeable by whoever can start workflows.
   */
  mac(data: string): string {
    const [kid, key] = [...this.keys][0] ?? [];
    if (!key) throw new SealError('this worker has no private key');
    return `${kid}:${macWith(key, data)}`;
  }

  checkMac(data: string, mac: string): boolean {
    const [kid, value] = mac.split(':');
    const key = this.keys.get(kid ?? '');
    if (!key || !value) return false;
    const expected = Buffer.from(macWith(key, data));
    const given = Buffer.from(value);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  open(sealed: string): string {
    if (!isSealed(sealed)) throw new SealError('the value is not sealed; refusing a plaintext secret');
    const version = sealed.startsWith(V1) ? 1 : sealed.startsWith(V2) ? 2 : 0;
    if (!version) throw new SealError('the sealed value has an unknown version');
    const [kid, ...parts] = sealed.slice(V1.length).split(':');
    const key = this.keys.get(kid ?? '');
    if (!key) throw new SealError(`no private key with id ${kid} on this worker (sealed for another key ring?)`);
    const [first, iv, data] = parts.map((part) => Buffer.from(part, 'base64url'));
    try {
      const opened = privateDecrypt({ key, ...OAEP }, first ?? Buffer.alloc(0));
      if (version === 1) return opened.toString('utf8');
      const decipher = createDecipheriv('aes-256-gcm', opened, iv ?? Buffer.alloc(0));
      decipher.setAuthTag(data!.subarray(data!.length - 16));
      return Buffer.concat([decipher.update(data!.subarray(0, data!.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      throw new SealError(`the sealed value could not be opened with key ${kid} (corrupted?)`);
    }
  }
}

function macWith(key: KeyObject, data: string): string {
  const secret = createHash('sha256')
    .update('ks-onboard carry mac\0')
    .update(key.export({ type: 'pkcs8', format: 'der' }))
    .digest();
  return createHmac('sha256', secret).update(data).digest('base64url');
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
