import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The replay corpus (test/onboarding/replay.test.ts). */
export const HISTORIES_DIR = fileURLToPath(new URL('../fixtures/histories', import.meta.url));

/** Writes a run's history for the corpus, with its workflow id. */
export async function saveHistory(
  name: string,
  handle: { workflowId: string; fetchHistory: () => Promise<unknown> },
): Promise<void> {
  const history = await handle.fetchHistory();
  writeFileSync(
    join(HISTORIES_DIR, `${name}.json`),
    JSON.stringify({ workflowId: handle.workflowId, history }, null, 1),
  );
}
