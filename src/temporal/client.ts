import { Client, Connection } from '@temporalio/client';
import { codecKeyRing, type TemporalConfig } from '../config.js';
import type { KeyRing } from '../codec/payload-codec.js';
import { describeConnectFailure, temporalConnectOptions } from './connection-config.js';
import { dataConverterFor } from './data-converter.js';

/**
 * A client that encrypts and decrypts payloads with the key ring (by default the configured or dev one), connected
 * with the configuration's TLS, mTLS or API key (`config.connection`; none: plaintext). A failed connection's message
 * says what to check, naming the variables.
 */
export async function createTemporalClient(
  config: Pick<TemporalConfig, 'address' | 'namespace' | 'connection'>,
  keyRing: KeyRing | undefined = codecKeyRing(),
  options: { connectTimeoutMs?: number } = {},
): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({
      ...temporalConnectOptions(config),
      ...(options.connectTimeoutMs ? { connectTimeout: options.connectTimeoutMs } : {}),
    });
  } catch (error) {
    throw new Error(describeConnectFailure(error, config), { cause: error });
  }
  return new Client({ connection, namespace: config.namespace, dataConverter: dataConverterFor(keyRing) });
}
