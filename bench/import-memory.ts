/**
 * Memory and speed of the CSV import's two passes (checkImportFile, then readPeople) on generated files of
 * 10,000 and 100,000 rows. Each size runs in its own child process, so that its peak RSS is its own.
 * Prints peak RSS, peak heap, the heap the check keeps for the second pass, and rows per second, with the
 * 100k figures as ratios of the 10k ones. A second child per size forces a full GC every 100 ms to find the
 * peak of what is really kept (the live heap), untimed. Not a test: figures go to docs/benchmarks.md.
 *
 *   npx tsx bench/import-memory.ts                # real RSA seal (3072-bit, as the workers' dev key)
 *   BENCH_SEAL=cheap npx tsx bench/import-memory.ts   # a hash instead of RSA, to time the reading alone
 *   BENCH_SIZES=10000,100000,300000 npx tsx bench/import-memory.ts
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkImportFile } from '../src/import/check.js';
import { readPeople } from '../src/import/people.js';
import { seal } from '../src/codec/seal.js';

const SIZES = (process.env.BENCH_SIZES ?? '10000,100000').split(',').map(Number);
const SEAL = process.env.BENCH_SEAL === 'cheap' ? 'cheap' : 'rsa';
const WORKSPACES = 100;
const PROJECTS_PER_WORKSPACE = 3;

interface Figures {
  rows: number;
  people: number;
  fileBytes: number;
  /** process.resourceUsage().maxRSS, bytes, at the start of the child (modules loaded) */
  startRss: number;
  /** … after the check, and at the end */
  checkRss: number;
  peakRss: number;
  /** highest heapUsed seen (sampled every 5 ms) */
  peakHeap: number;
  /** heap still used after the check, after a full GC, above the start: what pass 2 is handed */
  retainedHeap: number;
  /** with --live: the highest heap after a full GC every 100 ms, above the start (what is really kept) */
  liveHeap?: number;
  checkMs: number;
  readMs: number;
  sealMode: string;
}

/** n rows: ~100 workspaces, ~300 projects; every 10th person is on a second row for another project. */
async function generate(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path, { mode: 0o600 });
  const write = async (line: string) => {
    if (!out.write(line)) await once(out, 'drain');
  };
  await write('username,email,password,global_role,workspace,workspace_role,project,project_role,cluster\n');
  let written = 0;
  for (let person = 0; written < rows; person++) {
    const ws = `team-${person % WORKSPACES}`;
    const project = (k: number) => `${ws}-p${(person + k) % PROJECTS_PER_WORKSPACE}`;
    const password = `Pw-${person}-Secret`;
    await write(`user-${person},user-${person}@example.com,${password},,${ws},,${project(0)},,\n`);
    written++;
    if (person % 10 === 0 && written < rows) {
      await write(`user-${person},user-${person}@example.com,,,${ws},,${project(1)},viewer,\n`);
      written++;
    }
  }
  out.end();
  await once(out, 'finish');
}

async function child(path: string, publicKeyPath: string, live: boolean): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const startRss = process.resourceUsage().maxRSS * 1024;
  const startHeap = process.memoryUsage().heapUsed;
  let peakHeap = startHeap;
  let liveHeap = 0;
  // A full GC every 100 ms slows both passes: the live run is not the timed one.
  const sampler = live
    ? setInterval(() => {
        gc?.();
        liveHeap = Math.max(liveHeap, process.memoryUsage().heapUsed - startHeap);
      }, 100)
    : setInterval(() => {
        peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      }, 5);

  let started = performance.now();
  const check = await checkImportFile(path);
  const checkMs = performance.now() - started;
  if (check.problems.length) throw new Error(`unexpected problems: ${check.problems.length}`);
  const checkRss = process.resourceUsage().maxRSS * 1024;
  gc?.();
  const retainedHeap = process.memoryUsage().heapUsed - startHeap;

  const publicPem = readFileSync(publicKeyPath, 'utf8');
  const sealer =
    SEAL === 'rsa' && !live
      ? (password: string) => seal(password, publicPem)
      : (password: string) => `ks-sealed:v1:cheap:${createHash('sha256').update(password).digest('base64url')}`;
  started = performance.now();
  let people = 0;
  for await (const person of readPeople(path, check, { seal: sealer })) {
    if (person.placements.length === 0) throw new Error('a person without a placement');
    people++;
  }
  const readMs = performance.now() - started;
  clearInterval(sampler);
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);

  const figures: Figures = {
    rows: check.rows,
    people,
    fileBytes: statSync(path).size,
    startRss,
    checkRss,
    peakRss: process.resourceUsage().maxRSS * 1024,
    peakHeap,
    retainedHeap,
    checkMs,
    readMs,
    sealMode: live ? 'cheap' : SEAL,
    ...(live ? { liveHeap } : {}),
  };
  process.stdout.write(JSON.stringify(figures));
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const rate = (rows: number, ms: number) => `${Math.round(rows / (ms / 1000)).toLocaleString('en')} rows/s`;
const ratio = (a: number, b: number) => `×${(a / b).toFixed(2)}`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ks-import-bench-'));
  try {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const publicKeyPath = join(dir, 'public.pem');
    writeFileSync(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }));
    const results: Figures[] = [];
    for (const size of SIZES) {
      const path = join(dir, `rows-${size}.csv`);
      await generate(path, size);
      const run = (live: boolean) =>
        JSON.parse(
          execFileSync(
            process.execPath,
            [
              ...process.execArgv,
              '--expose-gc',
              fileURLToPath(import.meta.url),
              '--child',
              path,
              publicKeyPath,
              ...(live ? ['--live'] : []),
            ],
            { encoding: 'utf8', maxBuffer: 1024 * 1024, env: { ...process.env, BENCH_SEAL: SEAL } },
          ),
        ) as Figures;
      results.push({ ...run(false), liveHeap: run(true).liveHeap });
      rmSync(path);
    }
    const base = results[0]!;
    console.log(`seal: ${SEAL === 'rsa' ? 'RSA-OAEP 3072 (src/codec/seal.ts)' : 'sha256 stand-in'}`);
    for (const r of results) {
      console.log(
        [
          `${r.rows.toLocaleString('en')} rows (${r.people.toLocaleString('en')} people, ${mib(r.fileBytes)} file)`,
          `start RSS ${mib(r.startRss)}`,
          `peak RSS by the end of the check ${mib(r.checkRss)} ${ratio(r.checkRss, base.checkRss)}`,
          `peak RSS ${mib(r.peakRss)} ${ratio(r.peakRss, base.peakRss)}`,
          `RSS growth (peak − start) ${mib(r.peakRss - r.startRss)} ${ratio(r.peakRss - r.startRss, base.peakRss - base.startRss)}`,
          `peak heap (garbage included) ${mib(r.peakHeap)} ${ratio(r.peakHeap, base.peakHeap)}`,
          `peak live heap ${mib(r.liveHeap!)} (${Math.round(r.liveHeap! / r.rows)} B/row) ${ratio(r.liveHeap!, base.liveHeap!)}`,
          `kept by the check ${mib(r.retainedHeap)} (${Math.round(r.retainedHeap / r.rows)} B/row) ${ratio(r.retainedHeap, base.retainedHeap)}`,
          `check ${rate(r.rows, r.checkMs)} ${ratio(r.rows / r.checkMs, base.rows / base.checkMs)}`,
          `read+seal ${rate(r.rows, r.readMs)} ${ratio(r.rows / r.readMs, base.rows / base.readMs)}`,
        ].join('\n  '),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const at = process.argv.indexOf('--child');
if (at !== -1) await child(process.argv[at + 1]!, process.argv[at + 2]!, process.argv.includes('--live'));
else await main();
