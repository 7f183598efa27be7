import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { ConfigError } from '../config.js';
import { describeFileError } from '../files.js';
import { checkPlacementMapping, type PlacementMapping } from './placement.js';

/**
 * Reads the placement mapping at start: any problem stops the process with a message naming the variable,
 * the file, where in it and why — never at the first hire, hours later.
 */

/** A mapping of a few hundred departments and teams is a few KB: a bigger file is the wrong file. */
export const MAX_PLACEMENT_FILE_BYTES = 1024 * 1024;

export const PLACEMENT_VARIABLE = 'KS_ONBOARD_PLACEMENT';

type Format = 'yaml' | 'json';
const FORMATS: Record<string, Format> = { '.yaml': 'yaml', '.yml': 'yaml', '.json': 'json' };

interface Located {
  line: number;
  column: number;
  message: string;
}

const at = (where: Located) => `line ${where.line}, column ${where.column}: ${where.message}`;

/**
 * Reads, parses and checks the mapping file at `path` (`.yaml`, `.yml` or `.json`). Throws a ConfigError such
 * as `KS_ONBOARD_PLACEMENT (config/placement.yaml): teams.payments.workspace: "Payments" must be lower-case …`.
 */
export function loadPlacementMapping(path: string, source = PLACEMENT_VARIABLE): PlacementMapping {
  const fail = (problems: string[]) => new ConfigError(`${source} (${path}): ${problems.join('; ')}`);
  const format = FORMATS[extname(path).toLowerCase()];
  if (format === undefined) throw fail(['must be a .yaml, .yml or .json file']);

  const content = readSmallFile(path, (problem) => fail([problem]));
  const parsed = format === 'json' ? parseJson(content) : parseYaml(content);
  if (!parsed.ok) throw fail(parsed.problems.map(at));
  if (parsed.value === null || parsed.value === undefined)
    throw fail(['is empty: expected a mapping with departments (and optionally teams and cluster)']);

  const checked = checkPlacementMapping(parsed.value);
  if (!checked.ok) throw fail(checked.problems.map((p) => (p.path === '' ? p.message : `${p.path}: ${p.message}`)));
  return checked.mapping;
}

function readSmallFile(path: string, fail: (problem: string) => Error): string {
  if (path === '') throw fail('no file named');
  let bytes: Buffer;
  try {
    const stats = statSync(path);
    if (stats.isDirectory()) throw fail('is a directory');
    if (stats.isFile() && stats.size > MAX_PLACEMENT_FILE_BYTES)
      throw fail(`is ${stats.size} bytes, more than ${MAX_PLACEMENT_FILE_BYTES}: not a placement mapping`);
    bytes = readFileSync(path);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw fail(describeFileError(error as NodeJS.ErrnoException));
  }
  // A pipe has no size until read.
  if (bytes.length > MAX_PLACEMENT_FILE_BYTES)
    throw fail(`is more than ${MAX_PLACEMENT_FILE_BYTES} bytes: not a placement mapping`);
  try {
    // A BOM is dropped (ignoreBOM: false): JSON.parse would refuse it.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw fail('is not UTF-8 text');
  }
}

type Parsed = { ok: true; value: unknown } | { ok: false; problems: Located[] };

/**
 * YAML 1.2 (so `no` stays the text "no"), with what surprises refused: duplicate keys (the last would win
 * silently), aliases and merge keys (one entry silently inheriting another's roles), explicit tags (`!!binary`
 * and the like), and keys that are not text (`1.10:` would be the name "1.1").
 */
function parseYaml(content: string): Parsed {
  const lines = new LineCounter();
  const doc = parseDocument(content, { uniqueKeys: true, prettyErrors: false, lineCounter: lines });
  const located = (offset: number, message: string): Located => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col, message };
  };
  const problems: Located[] = [...doc.errors, ...doc.warnings].map((e) => located(e.pos[0], e.message));
  if (problems.length === 0) problems.push(...surprises(doc, located));
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: doc.toJS({ maxAliasCount: 0 }) };
}

function surprises(doc: Document, located: (offset: number, message: string) => Located): Located[] {
  const found: Located[] = [];
  visit(doc, {
    Alias(_key, node) {
      found.push(
        located(rangeOf(node), `the alias *${node.source} is refused (and so are merge keys): write the values out`),
      );
    },
    Pair(_key, pair) {
      if (!isScalar(pair.key)) found.push(located(rangeOf(pair.key), 'a key must be text'));
      else if (typeof pair.key.value !== 'string')
        found.push(located(rangeOf(pair.key), `the key ${String(pair.key.value)} must be text: quote it`));
    },
    Node(_key, node) {
      if (node.tag !== undefined) found.push(located(rangeOf(node), `the explicit tag ${node.tag} is refused`));
    },
  });
  return found;
}

function rangeOf(node: unknown): number {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range?.[0] ?? 0;
}

/**
 * Strict JSON (no comments, no trailing commas: what a .json file promises every other tool), then the YAML
 * pass for what JSON.parse lets through silently: duplicate keys.
 */
function parseJson(content: string): Parsed {
  try {
    JSON.parse(content);
  } catch (error) {
    return { ok: false, problems: [jsonSyntaxError(content, (error as Error).message)] };
  }
  return parseYaml(content);
}

/** Node 20 says `… in JSON at position 42`, later versions `… (line 3 column 5)`: both become line and column. */
function jsonSyntaxError(content: string, message: string): Located {
  const lineColumn = /\(line (\d+) column (\d+)\)/.exec(message);
  const position = /at position (\d+)/.exec(message);
  const text = message
    .replace(/\s*\(line \d+ column \d+\)/, '')
    .replace(/\s*at position \d+/, '')
    .replace(/\s*in JSON$/, '');
  if (lineColumn) return { line: Number(lineColumn[1]), column: Number(lineColumn[2]), message: text };
  const offset = position ? Number(position[1]) : content.length;
  const before = content.slice(0, offset).split('\n');
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1, message: text };
}
