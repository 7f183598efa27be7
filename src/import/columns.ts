import { quote } from '../policy/names.js';
import type { ImportProblem } from './problems.js';

/** The columns of an import file, in the order reports and residue files write them. */
export const IMPORT_COLUMNS = [
  'username',
  'email',
  'password',
  'global_role',
  'workspace',
  'workspace_role',
  'project',
  'project_role',
  'cluster',
] as const;
export type ImportColumn = (typeof IMPORT_COLUMNS)[number];

/** Everything else has a default: no role means least privilege, no password an identity-provider login. */
export const REQUIRED_COLUMNS: readonly ImportColumn[] = ['username', 'email'];

/** Which cell of a record holds each column; absent columns are read as empty. */
export interface Header {
  line: number;
  /** cells a record must have */
  width: number;
  index: Partial<Record<ImportColumn, number>>;
}

export type HeaderResult = { ok: true; header: Header } | { ok: false; problems: ImportProblem[] };

/**
 * Reads the header record: names in any order and case, surrounding spaces ignored. Every header problem
 * is reported at once, and any of them refuses the file: without a trustworthy header no cell can be read.
 */
export function parseHeader(cells: readonly string[], line: number): HeaderResult {
  const names = cells.map((cell) => cell.trim().toLowerCase());
  const known = new Set<string>(IMPORT_COLUMNS);
  if (!names.some((name) => known.has(name))) {
    // The first line is probably data: its cells may hold a password, so none of them is echoed.
    return {
      ok: false,
      problems: [
        {
          line,
          message: `the first line must be a header naming the columns (${IMPORT_COLUMNS.join(', ')}); none of its ${cells.length} cells is a column name`,
        },
      ],
    };
  }

  const problems: ImportProblem[] = [];
  const index: Partial<Record<ImportColumn, number>> = {};
  names.forEach((name, at) => {
    if (!known.has(name)) {
      problems.push(unknownColumn(name, at, line));
      return;
    }
    const column = name as ImportColumn;
    const earlier = index[column];
    if (earlier !== undefined) {
      problems.push({
        line,
        column,
        message: `appears twice (cells ${earlier + 1} and ${at + 1}): which one holds the value would be a guess`,
      });
      return;
    }
    index[column] = at;
  });
  for (const column of REQUIRED_COLUMNS) {
    if (index[column] === undefined) problems.push({ line, column, message: 'is a required column and is missing' });
  }
  return problems.length ? { ok: false, problems } : { ok: true, header: { line, width: cells.length, index } };
}

/** A header cell that reads like a name is shown; anything else may be data pasted above the header. */
const NAME_LIKE = /^[a-z0-9][a-z0-9 _.-]{0,39}$/;

function unknownColumn(name: string, at: number, line: number): ImportProblem {
  const suggestion = suggestColumn(name);
  const hint = suggestion ? `did you mean \`${suggestion}\`?` : `the columns are ${IMPORT_COLUMNS.join(', ')}`;
  if (name === '') return { line, message: `cell ${at + 1} of the header is empty: ${hint}` };
  if (!NAME_LIKE.test(name)) return { line, message: `cell ${at + 1} of the header is not a column name: ${hint}` };
  return { line, column: name, message: `${quote(name)} is not a known column: ${hint}` };
}

/**
 * The column a misspelt name most likely meant: the same letters with other separators (`Workspace Role`,
 * `user-name`), else the nearest within a couple of edits (`workspce_role`, `mail`).
 */
export function suggestColumn(name: string): ImportColumn | undefined {
  const bare = (text: string) => text.toLowerCase().replace(/[\s_.-]+/g, '');
  const exact = IMPORT_COLUMNS.find((column) => bare(column) === bare(name));
  if (exact) return exact;
  let best: { column: ImportColumn; distance: number } | undefined;
  for (const column of IMPORT_COLUMNS) {
    const distance = editDistance(bare(name), bare(column));
    if (!best || distance < best.distance) best = { column, distance };
  }
  // Beyond about a third of the word, a "suggestion" is another word.
  return best && best.distance <= Math.max(1, Math.floor(bare(best.column).length / 3)) ? best.column : undefined;
}

/** Levenshtein distance with adjacent transpositions (one edit for `wrokspace`). */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}
