import { execFile } from 'node:child_process';
import { accessSync, constants, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

/** What test/deploy checks: the deployment files of the repository, read as the tools that use them read them. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const exec = promisify(execFile);

/** In CI (`.ci/run` sets CI=true) a missing tool fails the test; on a developer's machine it is skipped, saying so. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/** An executable on PATH or at one of the given paths; undefined when none exists. */
export function findTool(name: string, extra: string[] = []): string | undefined {
  const candidates = [...extra, ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, name))];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

/** The tool cache `.ci/run` installs into (as src/config.ts computes it). */
export function cacheDir(): string {
  return resolve(
    process.env.KS_ONBOARD_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ks-onboard'),
  );
}

export const readText = (path: string) => readFileSync(resolve(ROOT, path), 'utf8');

/** YAML as Compose v1 (PyYAML) and kubectl read it: YAML 1.1 merge keys (`<<: *anchor`) resolved. */
export function readYaml<T = unknown>(path: string): T {
  return parseYaml(readText(path), { merge: true }) as T;
}
export function readYamlDocuments(path: string): Record<string, unknown>[] {
  return parseAllDocuments(readText(path), { merge: true })
    .map((doc) => {
      if (doc.errors.length) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as Record<string, unknown> | null;
    })
    .filter((doc): doc is Record<string, unknown> => doc !== null);
}

// ---- environment files ----------------------------------------------------------------------------------------------

/** `KEY=value` lines as Compose reads an env_file: comments and blank lines skipped, no quoting. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 1) throw new Error(`not KEY=value: ${JSON.stringify(line)}`);
    const value = line.slice(eq + 1);
    // Compose v1 reads env files with python-dotenv (quotes removed, `$` interpolated, ` #` starts a comment), v2 with
    // its own parser: a value with any of these would differ between them.
    if (/["'$`\\]| #/.test(value)) throw new Error(`${line.slice(0, eq)}: quotes, $, \\ or " #" in an env file value`);
    env[line.slice(0, eq).trim()] = value;
  }
  return env;
}

/** Variable names of commented-out examples (`# KS_ONBOARD_X=…`): they are documentation and must be real too. */
export function commentedVariables(text: string): string[] {
  return [...text.matchAll(/^#\s*([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]!);
}

// ---- the source: which variables the code reads, which the docs document --------------------------------------------

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** src/**\/*.ts without tests and without comments: a variable named only in a comment is not read. */
export function sourceText(): string {
  return sourceFiles(join(ROOT, 'src'))
    .map((file) =>
      readFileSync(file, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .split('\n')
        .filter((line) => !line.trim().startsWith('//'))
        .join('\n'),
    )
    .join('\n');
}

export function readsVariable(source: string, name: string): boolean {
  return new RegExp(`(?<![A-Z0-9_])${name}(?![A-Z0-9_])`).test(source);
}

/**
 * Whether a variable is documented in one of the texts: by its full name, or by the README's shorthand, where a row
 * names `KS_ONBOARD_CODEC_PORT`, `_HOST`, `_AUTH`: `_HOST` stands for the full name whose prefix (at least three
 * segments, e.g. `KS_ONBOARD_CODEC`) starts a full name on the same line.
 */
export function documents(texts: string[], name: string): boolean {
  for (const text of texts) {
    if (new RegExp(`(?<![A-Z0-9_])${name}(?![A-Z0-9_])`).test(text)) return true;
    for (const line of text.split('\n')) {
      const full = line.match(/(?<![A-Z0-9_])[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+/g) ?? [];
      for (const short of line.match(/`(_[A-Z0-9_]+)`/g) ?? []) {
        const suffix = short.slice(1, -1);
        if (!name.endsWith(suffix)) continue;
        const prefix = name.slice(0, -suffix.length);
        if (prefix.split('_').length >= 3 && full.some((other) => other.startsWith(`${prefix}_`))) return true;
      }
    }
  }
  return false;
}

// ---- docker-compose.yml ---------------------------------------------------------------------------------------------

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  env_file?: string | string[];
  volumes?: string[];
  secrets?: (string | { source: string; target?: string })[];
  ports?: string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition: string }> | string[];
  profiles?: string[];
  container_name?: string;
  read_only?: boolean;
  [key: string]: unknown;
}
export interface ComposeFile {
  version?: string;
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file: string }>;
  volumes?: Record<string, unknown>;
}

export const COMPOSE_FILE = 'docker-compose.yml';
/** Our services: those that run the ks-onboard image (`build: .`). */
export const OUR_SERVICES = ['worker', 'intake', 'codec-server', 'kubesphere-emulator'] as const;

export function readCompose(): ComposeFile {
  return readYaml<ComposeFile>(COMPOSE_FILE);
}

/** `${NAME:-default}` → the default (what Compose uses with NAME unset). */
export function interpolateDefaults(value: string): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g,
    (_match, _name: string, fallback?: string) => fallback ?? '',
  );
}

export function listOf(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * A throwaway copy of the compose project with fresh secrets made by deploy/make-secrets.sh: `docker-compose config`
 * needs the env files to exist, and nothing is ever written into the checkout's deploy/secrets/.
 */
export async function composeProject(): Promise<{ dir: string; secrets: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ks-compose-'));
  cpSync(join(ROOT, COMPOSE_FILE), join(dir, COMPOSE_FILE));
  mkdirSync(join(dir, 'deploy'));
  for (const entry of readdirSync(join(ROOT, 'deploy'), { withFileTypes: true })) {
    if (entry.name === 'secrets' || entry.name === 'k8s') continue;
    cpSync(join(ROOT, 'deploy', entry.name), join(dir, 'deploy', entry.name), { recursive: true });
  }
  cpSync(join(ROOT, 'samples'), join(dir, 'samples'), { recursive: true });
  const secrets = join(dir, 'deploy', 'secrets');
  await exec('sh', [join(ROOT, 'deploy', 'make-secrets.sh'), '--dir', secrets]);
  return { dir, secrets };
}

/**
 * The environment a service's process gets from the compose file: its env files in order, then `environment:`,
 * read from a project directory (composeProject's). Our image's ENV lines come first (Dockerfile).
 */
export function serviceEnvironment(
  compose: ComposeFile,
  name: string,
  projectDir: string,
  imageEnv: Record<string, string> = {},
): Record<string, string> {
  const service = compose.services[name];
  if (!service) throw new Error(`no service ${name}`);
  const env: Record<string, string> = { ...imageEnv };
  for (const file of listOf(service.env_file))
    Object.assign(env, parseEnvFile(readFileSync(join(projectDir, file), 'utf8')));
  const inline = service.environment ?? {};
  if (Array.isArray(inline)) {
    for (const item of inline) {
      const eq = item.indexOf('=');
      if (eq > 0) env[item.slice(0, eq)] = item.slice(eq + 1);
    }
  } else {
    for (const [key, value] of Object.entries(inline)) if (value !== null) env[key] = String(value);
  }
  return env;
}

/**
 * Where a path inside a service's container comes from on the host: a bind mount of `volumes:`, a file secret
 * (`/run/secrets/<name>`), or the image (`/app/…` → `imageRoot`). Undefined for anything else.
 */
export function hostPathOf(
  compose: ComposeFile,
  name: string,
  containerPath: string,
  projectDir: string,
  imageRoot: string,
): string | undefined {
  const service = compose.services[name]!;
  for (const volume of service.volumes ?? []) {
    const [source, target] = interpolateDefaults(volume).split(':');
    if (!source || !target || !(source.startsWith('.') || source.startsWith('/'))) continue;
    if (containerPath === target || containerPath.startsWith(`${target}/`))
      return join(resolve(projectDir, source), relative(target, containerPath));
  }
  const secret = /^\/run\/secrets\/([^/]+)$/.exec(containerPath)?.[1];
  if (secret) {
    const listed = (service.secrets ?? []).some((s) => (typeof s === 'string' ? s : s.source) === secret);
    const file = compose.secrets?.[secret]?.file;
    return listed && file ? resolve(projectDir, file) : undefined;
  }
  if (containerPath.startsWith('/app/')) return join(imageRoot, containerPath.slice('/app/'.length));
  return undefined;
}

/** An env whose absolute container paths are replaced by where they come from on this machine. */
export function mapPaths(
  env: Record<string, string>,
  map: (containerPath: string) => string | undefined,
): { env: Record<string, string>; unmapped: string[] } {
  const out: Record<string, string> = {};
  const unmapped: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    const paths = value.split(',');
    if (!paths.every((path) => isAbsolute(path))) {
      out[key] = value;
      continue;
    }
    out[key] = paths
      .map((path) => {
        const host = map(path);
        if (host === undefined) unmapped.push(`${key}=${path}`);
        return host ?? path;
      })
      .join(',');
  }
  return { env: out, unmapped };
}

// ---- Dockerfile -----------------------------------------------------------------------------------------------------

export interface DockerInstruction {
  keyword: string;
  args: string;
  stage: string;
  line: number;
}

/** The Dockerfile's instructions with continuation lines joined, each with the name of its stage. */
export function dockerInstructions(text = readText('Dockerfile')): DockerInstruction[] {
  const out: DockerInstruction[] = [];
  const lines = text.split('\n');
  let stage = '';
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    if (!line.trim() || line.trim().startsWith('#')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++;
      const next = lines[i]!;
      if (next.trim().startsWith('#')) continue;
      line = `${line.slice(0, -1)} ${next.trim()}`;
    }
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const keyword = match[1]!.toUpperCase();
    const args = match[2]!.replace(/\s+/g, ' ').trim();
    if (keyword === 'FROM') stage = /\sAS\s+(\S+)/i.exec(args)?.[1] ?? args;
    out.push({ keyword, args, stage, line: start + 1 });
  }
  return out;
}

/** `ENV A=1 B=2` lines of a stage, as one map. */
export function dockerEnv(instructions: DockerInstruction[], stage: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of instructions.filter((i) => i.stage === stage && i.keyword === 'ENV'))
    for (const pair of args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  return env;
}

export function exists(path: string): boolean {
  return existsSync(path);
}

export { dirname, join, resolve };
