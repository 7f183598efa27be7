import { Client, Connection } from '@temporalio/client';
import { codecKeyRing, type TemporalConfig } from '../config.js';
import type { KeyRing } from '../codec/payload-codec.js';
import { dataConverterFor } from './data-converter.js';

/** A client that encrypts and decrypts payloads with the key ring (by default the configured or dev one). */
export async function createTemporalClient(
  config: Pick<TemporalConfig, 'address' | 'namespace'>,
  keyRing: KeyRing | undefined = codecKeyRing(),
): Promise<Client> {
  const connection = await Connection.connect({ address: config.address });
  return new Client({ connection, namespace: config.namespace, dataConverter: dataConverterFor(keyRing) });
}
