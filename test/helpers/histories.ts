import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Payload } from '@temporalio/common';
import { codecKeyRing } from '../../src/config.js';
import { dataConverterFor } from '../../src/temporal/data-converter.js';

/** The replay corpus (test/onboarding/replay.test.ts). */
export const HISTORIES_DIR = fileURLToPath(new URL('../fixtures/histories', import.meta.url));

/**
 * Writes a run's history for the corpus, with its workflow id. Its payloads are stored decoded: each test run
 * encrypts with a key of its own (test/global-setup.ts), and a later run must be able to replay it.
 */
export async function saveHistory(
  name: string,
  handle: { workflowId: string; fetchHistory: () => Promise<unknown> },
): Promise<void> {
  const history = await handle.fetchHistory();
  await decodePayloadsInPlace(history);
  writeFileSync(
    join(HISTORIES_DIR, `${name}.json`),
    JSON.stringify({ workflowId: handle.workflowId, history }, null, 1),
  );
}

async function decodePayloadsInPlace(history: unknown): Promise<void> {
  const found: Array<{ holder: Record<string, unknown> | unknown[]; key: string | number; payload: Payload }> = [];
  const walk = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      const candidate = value as { metadata?: unknown; data?: unknown } | null;
      if (
        candidate &&
        candidate.data instanceof Uint8Array &&
        candidate.metadata &&
        typeof candidate.metadata === 'object'
      )
        found.push({ holder: node as Record<string, unknown>, key, payload: candidate as Payload });
      else walk(value);
    }
  };
  walk(history);
  let decoded = found.map((f) => f.payload);
  for (const codec of dataConverterFor(codecKeyRing()).payloadCodecs ?? []) decoded = await codec.decode(decoded);
  found.forEach(({ holder, key }, i) => ((holder as Record<string, unknown>)[key] = decoded[i]));
}
