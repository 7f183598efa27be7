import { fileURLToPath } from 'node:url';
import type { DataConverter, LoadedDataConverter, Payload } from '@temporalio/common';
import { PayloadEncryptionCodec, type KeyRing } from '../codec/payload-codec.js';

/** lib/failure-converter.cjs, from src/ (tsx, vitest) or dist/ alike. */
export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('../../lib/failure-converter.cjs', import.meta.url));

/**
 * How every client and worker of ours converts payloads: encrypted with the key ring (AES-256-GCM, src/codec) and
 * failures' messages encoded too; without a key ring, Temporal's defaults.
 */
export function dataConverterFor(keyRing: KeyRing | undefined): DataConverter {
  if (!keyRing) return {};
  return { payloadCodecs: [new PayloadEncryptionCodec(keyRing)], failureConverterPath: FAILURE_CONVERTER_PATH };
}

/** The first of raw history payloads (a workflow's input), decoded as the client's data converter would. */
export async function decodeFirst<T>(converter: LoadedDataConverter, payloads: Payload[]): Promise<T> {
  let decoded = payloads.slice(0, 1);
  for (const codec of [...converter.payloadCodecs].reverse()) decoded = await codec.decode(decoded);
  return converter.payloadConverter.fromPayload<T>(decoded[0]!);
}

/**
 * A failure's message as recorded by Temporal (a pending activity's last failure): with encryption its message is
 * in the encoded attributes, read through the codec; as recorded when it cannot be read.
 */
export async function failureMessage(
  converter: LoadedDataConverter,
  failure: { message?: string | null; encodedAttributes?: Payload | null },
): Promise<string> {
  if (!failure.encodedAttributes) return failure.message ?? '';
  try {
    const attributes = await decodeFirst<{ message?: unknown }>(converter, [failure.encodedAttributes]);
    return typeof attributes.message === 'string' ? attributes.message : (failure.message ?? '');
  } catch {
    return failure.message ?? '';
  }
}
