import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { inspect, promisify } from 'node:util';
import { deflateRaw, inflateRaw } from 'node:zlib';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

/**
 * Encryption of every payload Temporal stores (inputs, results, signals, updates, queries, memo, summaries, and
 * failure messages with `encodeCommonAttributes`): AES-256-GCM over the whole serialized Payload, deflated first
 * when that pays. Keys come from a key ring: the first key encrypts, every key decrypts, so keys rotate without
 * losing old histories. A sealed password (`ks-sealed:…`, src/codec/seal.ts) is just a string to this codec: it
 * stays sealed after decode, and only workers ever open it.
 *
 * The encoded payload: metadata `encoding: binary/encrypted`, `encryption-key-id: <id>`,
 * `encryption-compression: deflate-raw|none`, `encryption-scheme: ks-onboard/aes-256-gcm/v1`; data
 * `<12-byte IV><ciphertext><16-byte tag>`. The scheme, key id and compression flag are the additional
 * authenticated data, so none of them can be changed without the decryption failing.
 */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
export const METADATA_COMPRESSION = 'encryption-compression';
export const METADATA_SCHEME = 'encryption-scheme';
const SCHEME = 'ks-onboard/aes-256-gcm/v1';

export type Compression = 'deflate-raw' | 'none';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Compressed only when it saves at least this share of the serialized payload. */
const MIN_SAVING = 0.1;
/** A decompressed payload larger than this is refused (authenticated data only, so it would be our own bug). */
const MAX_DECOMPRESSED_BYTES = 128 * 1024 * 1024;
const KEY_ID = /^[A-Za-z0-9._-]{1,32}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]+|[A-Za-z0-9_-]+)={0,2}$/;

const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);
const PayloadProto = proto.temporal.api.common.v1.Payload;

/** A key ring that cannot be used: the message names the entry by number, never its key. */
export class CodecKeyError extends Error {
  override readonly name = 'CodecKeyError';
  constructor(
    message: string,
    /** the 1-based entry of the key ring text, when one entry is at fault */
    readonly entry?: number,
  ) {
    super(message);
  }
}

export type PayloadCodecErrorCode =
  /** encrypted under a key id this ring does not hold */
  | 'UNKNOWN_KEY'
  /** the authentication tag does not match: data or metadata changed, or another key under the same id */
  | 'NOT_AUTHENTIC'
  /** not a payload this codec wrote (missing or unknown metadata, too short) */
  | 'MALFORMED';

/** A payload that cannot be decoded. Names the key id and the payload's position, never key material or data. */
export class PayloadCodecError extends Error {
  override readonly name = 'PayloadCodecError';
  constructor(
    readonly code: PayloadCodecErrorCode,
    message: string,
    readonly keyId?: string,
  ) {
    super(message);
  }
}

export interface CodecKey {
  readonly id: string;
  /** a secret KeyObject: printing or serializing it shows no key bytes */
  readonly key: KeyObject;
}

/** The keys of the codec: the first encrypts, all decrypt. Made by parseKeyRing; prints its ids only. */
export class KeyRing {
  readonly primary: CodecKey;
  private readonly byId: ReadonlyMap<string, CodecKey>;

  constructor(keys: readonly CodecKey[]) {
    const [primary] = keys;
    if (!primary) throw new CodecKeyError('the key ring holds no key');
    this.primary = primary;
    this.byId = new Map(keys.map((key) => [key.id, key]));
  }

  get ids(): string[] {
    return [...this.byId.keys()];
  }

  get(id: string): CodecKey | undefined {
    return this.byId.get(id);
  }

  toJSON(): { primary: string; ids: string[] } {
    return { primary: this.primary.id, ids: this.ids };
  }

  [inspect.custom](): string {
    return `KeyRing { primary: ${this.primary.id}, ids: [${this.ids.join(', ')}] }`;
  }
}

/**
 * Reads `key-id:base64[,key-id:base64…]` (32-byte keys, ids of 1–32 letters, digits, ".", "_", "-"). The first
 * entry encrypts. An empty or malformed entry, a repeated key id or a key given twice throws a CodecKeyError naming
 * the entry by number; key material never appears in a message.
 */
export function parseKeyRing(text: string): KeyRing {
  const trimmed = text.trim();
  if (!trimmed) throw new CodecKeyError('the key ring is empty: expected key-id:base64[,key-id:base64…]');
  const keys: CodecKey[] = [];
  const seen: { id: string; bytes: Buffer }[] = [];
  trimmed.split(',').forEach((raw, index) => {
    const entry = index + 1;
    const item = raw.trim();
    if (!item) throw new CodecKeyError(`key ring entry ${entry} is empty`, entry);
    const colon = item.indexOf(':');
    if (colon < 0) throw new CodecKeyError(`key ring entry ${entry} is not key-id:base64 (it has no ":")`, entry);
    const id = item.slice(0, colon);
    const encoded = item.slice(colon + 1);
    if (!KEY_ID.test(id))
      throw new CodecKeyError(
        `key ring entry ${entry}: the key id must be 1-32 letters, digits, ".", "_" or "-"`,
        entry,
      );
    if (!BASE64.test(encoded) || encoded.length % 4 === 1)
      throw new CodecKeyError(`key ring entry ${entry} (id "${id}"): the key is not base64`, entry);
    const bytes = Buffer.from(encoded, 'base64');
    if (bytes.length !== KEY_BYTES)
      throw new CodecKeyError(
        `key ring entry ${entry} (id "${id}"): the key must be ${KEY_BYTES} bytes, not ${bytes.length} (make one with: openssl rand -base64 32)`,
        entry,
      );
    const sameId = seen.findIndex((other) => other.id === id);
    if (sameId >= 0)
      throw new CodecKeyError(`key ring entry ${entry} repeats the key id "${id}" of entry ${sameId + 1}`, entry);
    const sameKey = seen.findIndex((other) => other.bytes.equals(bytes));
    if (sameKey >= 0)
      throw new CodecKeyError(
        `key ring entry ${entry} (id "${id}") holds the same key as entry ${sameKey + 1} (id "${seen[sameKey]!.id}")`,
        entry,
      );
    seen.push({ id, bytes });
    keys.push({ id, key: createSecretKey(bytes) });
  });
  for (const { bytes } of seen) bytes.fill(0);
  return new KeyRing(keys);
}

/** A new key ring entry, `local-<YYYY-MM-DD>:<base64 of 32 random bytes>` unless an id is given (for development). */
export function generateKeyRingEntry(id: string = `local-${new Date().toISOString().slice(0, 10)}`): string {
  if (!KEY_ID.test(id)) throw new CodecKeyError('the key id must be 1-32 letters, digits, ".", "_" or "-"');
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}

/** The Temporal PayloadCodec: give the same key ring to every client, worker and codec server of a namespace. */
export class PayloadEncryptionCodec implements PayloadCodec {
  constructor(readonly keyRing: KeyRing) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(payloads.map((payload) => this.encodeOne(payload)));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(payloads.map((payload, index) => this.decodeOne(payload, index, payloads.length)));
  }

  private async encodeOne(payload: Payload): Promise<Payload> {
    const serialized = PayloadProto.encode(payload).finish();
    const deflated = await deflate(serialized);
    const compression: Compression = deflated.length <= serialized.length * (1 - MIN_SAVING) ? 'deflate-raw' : 'none';
    const plaintext = compression === 'deflate-raw' ? deflated : serialized;
    const { id, key } = this.keyRing.primary;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(id, compression));
    const data = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        encoding: utf8(ENCRYPTED_ENCODING),
        [METADATA_KEY_ID]: utf8(id),
        [METADATA_COMPRESSION]: utf8(compression),
        [METADATA_SCHEME]: utf8(SCHEME),
      },
      data,
    };
  }

  private async decodeOne(payload: Payload, index: number, count: number): Promise<Payload> {
    const metadata = payload.metadata ?? {};
    if (text(metadata.encoding) !== ENCRYPTED_ENCODING) return payload;
    const which = count > 1 ? `payload ${index + 1} of ${count}` : 'the payload';
    const scheme = text(metadata[METADATA_SCHEME]);
    if (scheme !== SCHEME)
      throw new PayloadCodecError(
        'MALFORMED',
        `${which} is ${ENCRYPTED_ENCODING} but not in scheme ${SCHEME} (${METADATA_SCHEME}: ${printable(scheme)})`,
      );
    const id = text(metadata[METADATA_KEY_ID]);
    if (!id || !KEY_ID.test(id))
      throw new PayloadCodecError('MALFORMED', `${which} has no valid ${METADATA_KEY_ID} (${printable(id)})`);
    const compression = text(metadata[METADATA_COMPRESSION]);
    if (compression !== 'deflate-raw' && compression !== 'none')
      throw new PayloadCodecError(
        'MALFORMED',
        `${which} has an unknown ${METADATA_COMPRESSION} (${printable(compression)})`,
        id,
      );
    const key = this.keyRing.get(id);
    if (!key)
      throw new PayloadCodecError(
        'UNKNOWN_KEY',
        `${which} was encrypted with key id "${id}", which is not in this key ring (it holds: ${this.keyRing.ids.join(', ')}); add that key to the ring to read it`,
        id,
      );
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES)
      throw new PayloadCodecError('MALFORMED', `${which} is too short to be encrypted data`, id);
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.key, data.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(additionalData(id, compression));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      plaintext = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadCodecError(
        'NOT_AUTHENTIC',
        `${which} failed authentication with key id "${id}": its data or metadata was changed, or another key carries that id`,
        id,
      );
    }
    const serialized =
      compression === 'deflate-raw' ? await inflate(plaintext, { maxOutputLength: MAX_DECOMPRESSED_BYTES }) : plaintext;
    const decoded = PayloadProto.decode(serialized);
    return {
      metadata: decoded.metadata,
      data: decoded.data,
      ...(decoded.externalPayloads.length ? { externalPayloads: decoded.externalPayloads } : {}),
    };
  }
}

function additionalData(keyId: string, compression: Compression): Buffer {
  return Buffer.from([SCHEME, ENCRYPTED_ENCODING, keyId, compression].join('\0'), 'utf8');
}

function utf8(value: string): Uint8Array {
  return Buffer.from(value, 'utf8');
}

function text(value: Uint8Array | null | undefined): string | undefined {
  return value ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8') : undefined;
}

/** A metadata value for a message: short, printable (the metadata is not secret, but may be garbage). */
function printable(value: string | undefined): string {
  return value === undefined ? 'none' : JSON.stringify(value.replace(/[^\x20-\x7e]/g, '?').slice(0, 40));
}
