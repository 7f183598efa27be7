import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  CodecKeyError,
  generateKeyRingEntry,
  parseKeyRing,
  PayloadCodecError,
  PayloadEncryptionCodec,
  type KeyRing,
} from './payload-codec.js';

const entry = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const codecOf = (ring: KeyRing) => new PayloadEncryptionCodec(ring);
const toPayload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const fromPayload = (payload: Payload): unknown => defaultPayloadConverter.fromPayload(payload);
const meta = (payload: Payload, key: string) => Buffer.from(payload.metadata?.[key] ?? []).toString('utf8');

const EMAIL = 'ada.lovelace@example.com';
const SEALED = `ks-sealed:v1:0123456789abcdef:${randomBytes(384).toString('base64url')}`;

describe('PayloadEncryptionCodec', () => {
  const keyA = entry('a');
  const codec = codecOf(parseKeyRing(keyA));

  it('round-trips payloads of every size: large and compressible, tiny, binary, empty, null', async () => {
    const values = [
      { people: Array.from({ length: 2_000 }, (_, i) => ({ username: `user-${i}`, workspace: 'payments' })) },
      'x',
      new Uint8Array(randomBytes(1_000)),
      '',
      null,
    ];
    const payloads = values.map(toPayload);
    const encoded = await codec.encode(payloads);
    expect(encoded).toHaveLength(values.length);
    for (const payload of encoded) {
      expect(meta(payload, 'encoding')).toBe('binary/encrypted');
      expect(meta(payload, 'encryption-key-id')).toBe('a');
    }
    const decoded = await codec.decode(encoded);
    expect(decoded.map(fromPayload)).toEqual(values);
    // The original metadata comes back byte for byte (e.g. encoding json/plain, binary/null).
    expect(decoded.map((p) => meta(p, 'encoding'))).toEqual(payloads.map((p) => meta(p, 'encoding')));
  });

  it('compresses only when it saves at least 10%', async () => {
    const large = toPayload({ text: 'onboarding '.repeat(5_000) });
    const random = toPayload(new Uint8Array(randomBytes(5_000)));
    const tiny = toPayload('x');
    const [l, r, t] = await codec.encode([large, random, tiny]);
    expect(meta(l!, 'encryption-compression')).toBe('deflate-raw');
    expect(l!.data!.length).toBeLessThan(large.data!.length / 10);
    expect(meta(r!, 'encryption-compression')).toBe('none');
    expect(meta(t!, 'encryption-compression')).toBe('none');
  });

  it('hides the email; a sealed password stays sealed after decode and is not in the encoded bytes', async () => {
    const input = { username: 'ada', email: EMAIL, password: SEALED };
    const [encoded] = await codec.encode([toPayload(input)]);
    const bytes = Buffer.from(encoded!.data!);
    expect(bytes.includes(EMAIL)).toBe(false);
    expect(bytes.includes(SEALED)).toBe(false);
    expect(bytes.includes('ks-sealed:')).toBe(false);
    for (const value of Object.values(encoded!.metadata!)) expect(Buffer.from(value).includes(EMAIL)).toBe(false);
    const [decoded] = await codec.decode([encoded!]);
    const back = fromPayload(decoded!) as typeof input;
    expect(back).toEqual(input);
    expect(back.password.startsWith('ks-sealed:v1:')).toBe(true);
  });

  it('encrypts the same payload differently each time (random IV)', async () => {
    const [one, two] = await codec.encode([toPayload('same'), toPayload('same')]);
    expect(Buffer.from(one!.data!).equals(Buffer.from(two!.data!))).toBe(false);
  });

  it('passes payloads without binary/encrypted through unchanged (histories from before encryption)', async () => {
    const plain = toPayload({ username: 'ada' });
    const [decoded] = await codec.decode([plain]);
    expect(decoded).toBe(plain);
    const [empty] = await codec.decode([{}]);
    expect(empty).toEqual({});
  });

  it('handles an empty list', async () => {
    expect(await codec.encode([])).toEqual([]);
    expect(await codec.decode([])).toEqual([]);
  });

  describe('refuses what was changed', () => {
    const tampered: [string, (p: Payload) => Payload][] = [
      ['a ciphertext byte', (p) => ({ ...p, data: flip(p.data!, 20) })],
      ['the IV', (p) => ({ ...p, data: flip(p.data!, 0) })],
      ['the tag', (p) => ({ ...p, data: flip(p.data!, p.data!.length - 1) })],
      ['the length', (p) => ({ ...p, data: p.data!.subarray(0, p.data!.length - 1) })],
      ['the compression flag', (p) => withMeta(p, 'encryption-compression', 'none')],
    ];
    it.each(tampered)('%s → NOT_AUTHENTIC', async (_what, change) => {
      const [encoded] = await codec.encode([toPayload({ text: 'compress me '.repeat(100) })]);
      expect(meta(encoded!, 'encryption-compression')).toBe('deflate-raw');
      const error = await codec.decode([change(encoded!)]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PayloadCodecError);
      expect(error).toMatchObject({ code: 'NOT_AUTHENTIC', keyId: 'a' });
      expect((error as Error).message).toMatch(/failed authentication with key id "a"/);
    });

    it('a key id switched to another key of the ring → NOT_AUTHENTIC', async () => {
      const ring = parseKeyRing(`${keyA},${entry('b')}`);
      const [encoded] = await codecOf(ring).encode([toPayload('hello')]);
      await expect(codecOf(ring).decode([withMeta(encoded!, 'encryption-key-id', 'b')])).rejects.toMatchObject({
        code: 'NOT_AUTHENTIC',
        keyId: 'b',
      });
    });

    it.each([
      ['an unknown compression', 'encryption-compression', 'gzip', /unknown encryption-compression \("gzip"\)/],
      ['another scheme', 'encryption-scheme', 'other/v9', /not in scheme ks-onboard\/aes-256-gcm\/v1/],
      ['a malformed key id', 'encryption-key-id', 'a b', /no valid encryption-key-id/],
    ])('%s → MALFORMED', async (_what, key, value, message) => {
      const [encoded] = await codec.encode([toPayload('hello')]);
      const error = await codec.decode([withMeta(encoded!, key, value)]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'MALFORMED' });
      expect((error as Error).message).toMatch(message);
    });

    it('names which payload of several failed', async () => {
      const encoded = await codec.encode([toPayload(1), toPayload(2), toPayload(3)]);
      encoded[1] = { ...encoded[1]!, data: flip(encoded[1]!.data!, 15) };
      await expect(codec.decode(encoded)).rejects.toThrow(/^payload 2 of 3 failed authentication/);
    });
  });

  it('names an unknown key id and the ring it has, never key material', async () => {
    const other = entry('retired-2025');
    const [encoded] = await codecOf(parseKeyRing(other)).encode([toPayload('secret')]);
    const error = await codecOf(parseKeyRing(`${keyA},${entry('b')}`))
      .decode([encoded!])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadCodecError);
    expect(error).toMatchObject({ code: 'UNKNOWN_KEY', keyId: 'retired-2025' });
    const message = (error as Error).message;
    expect(message).toMatch(/key id "retired-2025", which is not in this key ring \(it holds: a, b\)/);
    for (const key of [other, keyA]) expect(message).not.toContain(key.split(':')[1]);
  });

  it('rotates: b,a decrypts what a wrote and encrypts with b; a alone cannot read b', async () => {
    const keyB = entry('b');
    const before = await codecOf(parseKeyRing(keyA)).encode([toPayload({ written: 'with a' })]);
    const rotated = codecOf(parseKeyRing(`${keyB},${keyA}`));
    expect(await rotated.decode(before).then((p) => p.map(fromPayload))).toEqual([{ written: 'with a' }]);
    const after = await rotated.encode([toPayload({ written: 'with b' })]);
    expect(meta(after[0]!, 'encryption-key-id')).toBe('b');
    // History mixes both after a rotation: one decode call reads them together.
    expect((await rotated.decode([...before, ...after])).map(fromPayload)).toEqual([
      { written: 'with a' },
      { written: 'with b' },
    ]);
    await expect(codecOf(parseKeyRing(keyA)).decode(after)).rejects.toMatchObject({ code: 'UNKNOWN_KEY' });
    // Once nothing written with a is kept, a leaves the ring.
    expect((await codecOf(parseKeyRing(keyB)).decode(after)).map(fromPayload)).toEqual([{ written: 'with b' }]);
  });
});

describe('parseKeyRing', () => {
  it('reads ids and keys; the first encrypts; padding optional, URL-safe base64 too, spaces trimmed', () => {
    const key = randomBytes(32);
    const ring = parseKeyRing(
      ` k1:${key.toString('base64')} , k.2_x-y:${randomBytes(32).toString('base64url')},k3:${randomBytes(32).toString('base64').replace(/=+$/, '')}\n`,
    );
    expect(ring.primary.id).toBe('k1');
    expect(ring.ids).toEqual(['k1', 'k.2_x-y', 'k3']);
    expect(ring.get('k1')!.key.export().equals(key)).toBe(true);
    expect(ring.get('nope')).toBeUndefined();
  });

  it('never shows key material when printed or serialized', () => {
    const text = `a:${randomBytes(32).toString('base64')},b:${randomBytes(32).toString('base64')}`;
    const ring = parseKeyRing(text);
    const shown = [inspect(ring), JSON.stringify(ring), String(ring), inspect(ring.primary, { depth: 5 })];
    for (const key of text.split(',').map((e) => e.split(':')[1]!)) {
      for (const s of shown) {
        expect(s).not.toContain(key);
        expect(s).not.toContain(Buffer.from(key, 'base64').toString('hex'));
      }
    }
    expect(JSON.stringify(ring)).toBe('{"primary":"a","ids":["a","b"]}');
  });

  const key = randomBytes(32).toString('base64');
  const short = randomBytes(16).toString('base64');
  const cases: [string, string, RegExp, number | undefined][] = [
    ['empty text', '  ', /^the key ring is empty/, undefined],
    ['an empty entry', `a:${key},,b:${key}`, /^key ring entry 2 is empty$/, 2],
    ['a trailing comma', `a:${key},`, /^key ring entry 2 is empty$/, 2],
    ['no colon', key, /^key ring entry 1 is not key-id:base64/, 1],
    ['an empty id', `:${key}`, /^key ring entry 1: the key id must be 1-32/, 1],
    ['a long id', `${'x'.repeat(33)}:${key}`, /^key ring entry 1: the key id must be 1-32/, 1],
    ['an id with a space', `a b:${key}`, /^key ring entry 1: the key id/, 1],
    ['a short key', `a:${short}`, /^key ring entry 1 \(id "a"\): the key must be 32 bytes, not 16/, 1],
    ['a long key', `a:${randomBytes(48).toString('base64')}`, /must be 32 bytes, not 48/, 1],
    ['not base64', `a:${key.slice(0, 20)}!${key.slice(21)}`, /^key ring entry 1 \(id "a"\): the key is not base64$/, 1],
    ['an empty key', 'a:', /^key ring entry 1 \(id "a"\): the key is not base64$/, 1],
    ['the first bad entry of several', `a:${key},b:${short},c:x`, /^key ring entry 2 \(id "b"\)/, 2],
  ];
  it.each(cases)('refuses %s, naming the entry', (_what, text, message, entryNumber) => {
    const error = (() => {
      try {
        parseKeyRing(text);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(CodecKeyError);
    expect((error as CodecKeyError).message).toMatch(message);
    expect((error as CodecKeyError).entry).toBe(entryNumber);
    for (const material of [key, short]) expect((error as Error).message).not.toContain(material);
  });

  it('refuses a repeated key id and a key given twice, naming both entries', () => {
    const one = randomBytes(32).toString('base64');
    const two = randomBytes(32).toString('base64');
    expect(() => parseKeyRing(`a:${one},b:${two},a:${two}`)).toThrow(
      /^key ring entry 3 repeats the key id "a" of entry 1$/,
    );
    expect(() => parseKeyRing(`a:${one},b:${two},c:${one}`)).toThrow(
      /^key ring entry 3 \(id "c"\) holds the same key as entry 1 \(id "a"\)$/,
    );
  });
});

describe('generateKeyRingEntry', () => {
  it('makes a dated local entry that parses, and a new key each time', () => {
    const made = generateKeyRingEntry();
    expect(made).toMatch(/^local-\d{4}-\d{2}-\d{2}:[A-Za-z0-9+/]{43}=$/);
    expect(parseKeyRing(made).primary.id).toBe(made.split(':')[0]);
    expect(generateKeyRingEntry('x')).not.toBe(generateKeyRingEntry('x'));
    expect(generateKeyRingEntry('prod-2027')).toMatch(/^prod-2027:/);
    expect(() => generateKeyRingEntry('bad id')).toThrow(CodecKeyError);
  });
});

function flip(data: Uint8Array, index: number): Uint8Array {
  const copy = Buffer.from(data);
  copy[index] = copy[index]! ^ 0x01;
  return copy;
}

function withMeta(payload: Payload, key: string, value: string): Payload {
  return { ...payload, metadata: { ...payload.metadata, [key]: Buffer.from(value) } };
}
