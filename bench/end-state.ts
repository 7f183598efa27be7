/**
 * KubeSphere's whole state (the emulator's) against what a team-migration file asks: every user, workspace, project
 * and membership exactly once with its least-privilege role, nothing else, no DELETE or PATCH ever received. Shared
 * by `npm run bench` and `npm run drill`.
 */
import { peopleHoldings } from '../src/emulator/holdings.js';
import type { EmulatorSnapshot } from '../src/emulator/server.js';
import { SEEDED, type Row } from './deployment.js';

/** The emulator's state, as `GET /_emulator/state` answers it. */
export async function emulatorState(url: string): Promise<EmulatorSnapshot> {
  return (await (await fetch(`${url}/_emulator/state`)).json()) as EmulatorSnapshot;
}

/** What the file asks for, in peopleHoldings' lines: the default roles. */
function wanted(rows: Row[]): string[] {
  const lines = new Set<string>();
  for (const r of rows) {
    lines.add(`user ${r.username} ${r.email} platform-regular`);
    lines.add(`workspace ${r.workspace}`);
    lines.add(`project host/${r.project} in ${r.workspace}`);
    lines.add(`member ${r.workspace} ${r.username} ${r.workspace}-regular`);
    lines.add(`member host/${r.project} ${r.username} viewer`);
  }
  return [...lines];
}

/** Missing, extra and duplicate objects, by line (a role other than the default is one missing and one extra). */
export async function endStateDiscrepancies(
  url: string,
  rows: Row[],
): Promise<{ verified: number; discrepancies: string[] }> {
  const state = await emulatorState(url);
  const requests = (await (await fetch(`${url}/_emulator/requests`)).json()) as {
    byMethod: Record<string, number>;
  };
  const want = wanted(rows);
  const count = new Map<string, number>();
  for (const line of peopleHoldings(state, SEEDED)) count.set(line, (count.get(line) ?? 0) + 1);
  const discrepancies = [
    ...want.filter((line) => !count.has(line)).map((line) => `missing: ${line}`),
    ...[...count].filter(([line]) => !want.includes(line)).map(([line]) => `extra: ${line}`),
    ...[...count].filter(([, n]) => n > 1).map(([line, n]) => `${n} times: ${line}`),
    ...['DELETE', 'PATCH'].filter((m) => requests.byMethod[m]).map((m) => `${requests.byMethod[m]} ${m} sent`),
  ];
  return { verified: want.length, discrepancies };
}
