import { Client, Connection } from '@temporalio/client';
import type { TemporalConfig } from '../config.js';

export async function createTemporalClient(config: Pick<TemporalConfig, 'address' | 'namespace'>): Promise<Client> {
  const connection = await Connection.connect({ address: config.address });
  return new Client({ connection, namespace: config.namespace });
}
