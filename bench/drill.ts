/**
 * `npm run drill`: fault drills that assert the end state. Each drill imports a generated team-migration CSV
 * (default 1,000 new people, 10 workspaces, 30 projects) with `ks-onboard import --wait` on the dev server with its
 * SQLite file, while something goes wrong, then compares KubeSphere's whole state (the emulator's) with what the
 * file asks: every user, workspace, project and membership present exactly once, nothing else, no DELETE or PATCH
 * ever sent, and the import's own report saying every row is done.
 *
 *   worker killed twice   the worker process is SIGKILLed at 25 % and at 60 % of the people, and started again
 *   KubeSphere faults     from 2 % of the people on, the emulator answers 10 % of requests 500, resets 10 % of
 *                         connections and applies 10 % of writes but loses their answer
 *   server restarted      on the local production topology instead (the Go-built Temporal server on PostgreSQL, a
 *                         role and databases of the drill's own, dropped afterwards): the server is SIGTERMed at 40 %
 *                         of the people and started again on the same ports and databases; the worker and the CLI
 *                         must carry on by themselves. Needs PostgreSQL and the binaries of
 *                         `npx ks-onboard stack prod-local --install-only`; without them it is not run (said so).
 *
 *   DRILL_ROWS=1000 DRILL_ONLY=worker,faults,server DRILL_TIMEOUT_S=900 npm run drill
 *
 * Exits 1 if any drill finds a discrepancy.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTALL_COMMAND } from '../src/prod-local/binaries.js';
import {
  finished,
  postgresUnavailable,
  SEEDED,
  startDeployment,
  teamMigration,
  writeCsv,
  type Deployment,
} from './deployment.js';
import { emulatorState, endStateDiscrepancies } from './end-state.js';

const ROWS = Number(process.env.DRILL_ROWS ?? 1000);
const ONLY = (process.env.DRILL_ONLY ?? 'worker,faults,server').split(',').map((d) => d.trim());
/** named explicitly: a drill that cannot run here fails the run rather than being passed over */
const EXPLICIT = process.env.DRILL_ONLY !== undefined;
/** an import that has not finished by then is stopped and reported (a drill never hangs) */
const TIMEOUT_S = Number(process.env.DRILL_TIMEOUT_S ?? 900);
const LATENCY = ['--latency', '20'];

/** The import's own last word (`--json`): every row done, none failed. */
function reportProblems(stdout: string, rows: number): string[] {
  // The last JSON document it printed (pretty-printed or one per line).
  const text = stdout.trim();
  let progress: { lifecycle?: string; done?: number; failed?: number } | undefined;
  for (let at = text.lastIndexOf('{'); at >= 0 && !progress; at = text.lastIndexOf('{', at - 1)) {
    if (at > 0 && text[at - 1] !== '\n') continue;
    try {
      progress = JSON.parse(text.slice(at)) as typeof progress;
    } catch {
      // not where a document starts
    }
  }
  if (!progress) return ['the import printed no report'];
  return progress.lifecycle === 'done' && progress.done === rows && progress.failed === 0
    ? []
    : [`report: ${JSON.stringify(progress).slice(0, 300)}`];
}

/** Resolves when KubeSphere holds at least `share` of the people. */
async function peopleReach(d: Deployment, share: number): Promise<void> {
  for (;;) {
    const state = await emulatorState(d.emulator.url);
    if (Object.keys(state.users).length - SEEDED.length >= share * ROWS) return;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

interface Drill {
  name: string;
  /** where the Temporal server keeps its state: the dev server's SQLite file, or PostgreSQL (stack prod-local) */
  storage: 'file' | 'postgres';
  emulatorArgs: string[];
  faults: string;
  /** what goes wrong while the import runs */
  during(d: Deployment): Promise<string>;
}

const drills: Drill[] = [
  {
    name: 'worker',
    storage: 'file',
    emulatorArgs: LATENCY,
    faults: 'worker SIGKILLed at 25 % and 60 % of the people, started again',
    async during(d) {
      const kills: string[] = [];
      for (const share of [0.25, 0.6]) {
        await peopleReach(d, share);
        const worker = d.worker;
        const exited = new Promise((resolve) => worker.once('exit', resolve));
        worker.kill('SIGKILL');
        await exited;
        const down = performance.now();
        await d.startWorker();
        kills.push(`${Math.round(share * 100)} %: back in ${((performance.now() - down) / 1000).toFixed(1)} s`);
      }
      return kills.join(', ');
    },
  },
  {
    name: 'faults',
    storage: 'file',
    emulatorArgs: LATENCY,
    faults: 'KubeSphere: 10 % answered 500, 10 % connections reset, 10 % of writes applied with the answer lost',
    async during(d) {
      // Once the batch runs (the CLI's own login and check are done: an operator would just run it again).
      await peopleReach(d, 0.02);
      const faults = { failRate: 0.1, resetRate: 0.1, dropResponseRate: 0.1, seed: 7 };
      const answer = await fetch(`${d.emulator.url}/_emulator/faults`, { method: 'PUT', body: JSON.stringify(faults) });
      if (!answer.ok) throw new Error(`the emulator refused the faults: ${await answer.text()}`);
      return 'from 2 % of the people on';
    },
  },
  {
    name: 'server',
    storage: 'postgres',
    emulatorArgs: LATENCY,
    faults: 'Temporal server (Go-built, on PostgreSQL) SIGTERMed at 40 % of the people, started again',
    async during(d) {
      await peopleReach(d, 0.4);
      const { stoppedMs, downMs } = await d.restartServer();
      return (
        `server down ${(downMs / 1000).toFixed(1)} s: ${(stoppedMs / 1000).toFixed(1)} s to stop, ` +
        `answering again ${((downMs - stoppedMs) / 1000).toFixed(1)} s later`
      );
    },
  },
];

const dir = mkdtempSync(join(tmpdir(), 'ks-drill-'));
const rows = teamMigration(ROWS, 'drill');
const csv = join(dir, 'team-migration.csv');
writeCsv(csv, rows);
let failed = false;
try {
  for (const drill of drills.filter((d) => ONLY.includes(d.name))) {
    if (drill.storage === 'postgres') {
      const why = await postgresUnavailable();
      if (why) {
        console.log(`${drill.name}: not run: ${why} (install: ${INSTALL_COMMAND})`);
        failed ||= EXPLICIT;
        continue;
      }
    }
    const d = await startDeployment({ dir, storage: drill.storage, emulatorArgs: drill.emulatorArgs });
    let cli: ChildProcess | undefined;
    try {
      const started = performance.now();
      cli = d.cli(['import', csv, '--wait', '--json']);
      const importing = finished(cli);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), TIMEOUT_S * 1000);
      });
      const what = await Promise.race([drill.during(d), timedOut]);
      const outcome = await Promise.race([importing, timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') cli.kill('SIGTERM');
      const result = outcome === 'timeout' ? await importing : outcome;
      const seconds = (performance.now() - started) / 1000;
      const { verified, discrepancies } = await endStateDiscrepancies(d.emulator.url, rows);
      const worker = d.worker;
      const problems = [
        ...(outcome === 'timeout' ? [`the import had not finished after ${TIMEOUT_S} s (DRILL_TIMEOUT_S)`] : []),
        ...(worker.exitCode === null && worker.signalCode === null
          ? []
          : [`the worker exited (${worker.exitCode ?? worker.signalCode}): ${d.workerLog().trim().slice(-600)}`]),
        ...(result.code === 0 ? [] : [`import exited ${result.code}: ${result.stderr.trim().slice(-300)}`]),
        ...reportProblems(result.stdout, ROWS),
        ...discrepancies,
      ];
      failed ||= problems.length > 0;
      const requests = (await (await fetch(`${d.emulator.url}/_emulator/requests`)).json()) as { total: number };
      console.log(
        `${drill.name}: ${ROWS} rows; faults: ${drill.faults}${what && what !== 'timeout' ? ` (${what})` : ''}; ` +
          `finished in ${seconds.toFixed(1)} s; ${requests.total} KubeSphere requests; ` +
          `${verified} objects verified; discrepancies: ${problems.length}`,
      );
      for (const problem of problems.slice(0, 20)) console.log(`  ${problem}`);
    } finally {
      if (cli && cli.exitCode === null && cli.signalCode === null) cli.kill('SIGTERM');
      await d.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
