import { checkEmail, checkUsername } from '../policy/names.js';
import type { Placement } from '../policy/requests.js';
import { ContentDigest } from './batch-id.js';
import type { ImportCheck, ImportIndex } from './check.js';
import { IMPORT_COLUMNS, type ImportColumn } from './columns.js';
import { fileReadError, sameStamp, stampOf } from './file.js';
import { ImportFileError } from './problems.js';
import { readCsvRecords } from './records.js';
import { rowFromCells, type CsvRow } from './rows.js';
import type { InputRow } from './write.js';

/** One person of the file: their rows merged, one placement a row that names a workspace. */
export interface ImportPerson {
  username: string;
  email: string;
  sealedPassword?: string;
  globalRole?: string;
  placements: Placement[];
  /** every line of the person, merged repeats included */
  lines: number[];
}

export interface ReadPeopleOptions {
  /** seals a password for the workers (src/codec/seal.ts); called once per person with a password */
  seal: (password: string) => string;
  /** lines to leave out besides the bad ones (e.g. rows already imported) */
  skipLines?: ReadonlySet<number>;
}

interface Pending {
  person: ImportPerson;
  /** `<workspace>\t<cluster>/<project>` of each placement, to merge repeats as the check did */
  seen: Set<string>;
}

/**
 * Pass 2 of an import: reads the file again and hands out each person as soon as their last row is read,
 * in the order of those last rows. Only people whose every row passed the check come out; memory holds the
 * people whose rows are still being read. Passwords are sealed as they are read and never kept.
 * Throws an ImportFileError when the check blocks the import or the file changed since the check.
 */
export async function* readPeople(
  path: string,
  check: ImportCheck,
  options: ReadPeopleOptions,
): AsyncGenerator<ImportPerson> {
  const index = await usableIndex(path, check);
  const pending = new Map<string, Pending>();
  for await (const { line, row } of dataRows(path, index)) {
    const last = index.lastLines.get(row.username);
    if (last === undefined || check.badLines.has(line)) continue;
    if (!options.skipLines?.has(line)) {
      let entry = pending.get(row.username);
      if (!entry) {
        entry = { person: { username: row.username, email: row.email, placements: [], lines: [] }, seen: new Set() };
        pending.set(row.username, entry);
      }
      add(entry, row, options.seal);
    }
    if (line === last) {
      const entry = pending.get(row.username);
      pending.delete(row.username);
      if (entry) yield entry.person;
    }
  }
}

/**
 * The rows the second pass leaves out (bad lines, and every row of a held person), in file order and in
 * the input format with the password column empty: the residue to fix and import again.
 */
export async function* readSkippedRows(path: string, check: ImportCheck): AsyncGenerator<InputRow> {
  const index = await usableIndex(path, check);
  for await (const { line, row } of dataRows(path, index, true)) {
    if (check.badLines.has(line) || !index.lastLines.has(row.username)) yield { ...row, password: '' };
  }
}

function add(entry: Pending, row: CsvRow, seal: (password: string) => string): void {
  const { person } = entry;
  person.lines.push(row.line);
  if (row.password !== '' && person.sealedPassword === undefined) person.sealedPassword = seal(row.password);
  if (row.global_role !== '') person.globalRole ??= row.global_role;
  if (row.workspace === '') return;
  // The check made roles agree for one workspace and one project, so the names alone say "the same".
  const key = `${row.workspace}\t${row.project && `${row.cluster || 'host'}/${row.project}`}`;
  if (entry.seen.has(key)) return;
  entry.seen.add(key);
  const placement: Placement = { workspace: row.workspace, line: row.line };
  if (row.workspace_role !== '') placement.workspaceRole = row.workspace_role;
  if (row.project !== '') placement.project = row.project;
  if (row.project_role !== '') placement.projectRole = row.project_role;
  if (row.cluster !== '') placement.cluster = row.cluster;
  person.placements.push(placement);
}

async function usableIndex(path: string, check: ImportCheck): Promise<ImportIndex> {
  if (check.blocking || !check.index)
    throw new ImportFileError(`${path}: cannot be imported until the problems that block it are fixed`);
  if (!sameStamp(await stampOf(path), check.index.stamp))
    throw new ImportFileError(`${path}: changed since it was checked; check it again`);
  return check.index;
}

/**
 * The data rows of the file as the check read them. Ends by comparing the content with the check's, since
 * a file rewritten within the same second and size escapes the stamp.
 */
async function* dataRows(
  path: string,
  index: ImportIndex,
  withBad = false,
): AsyncGenerator<{ line: number; row: CsvRow }> {
  const digest = new ContentDigest();
  let header = false;
  try {
    for await (const event of readCsvRecords(path, { maxRecordBytes: index.maxRecordBytes })) {
      if (event.kind === 'problem') continue;
      if (!header) {
        header = true;
        continue;
      }
      digest.add(index.header, event.cells);
      const parsed = rowFromCells(index.header, event.line, event.cells);
      if (parsed.ok) yield { line: event.line, row: parsed.row };
      else if (withBad) yield { line: event.line, row: looseRow(index, event.line, event.cells) };
    }
  } catch (error) {
    throw fileReadError(path, error);
  }
  if (digest.digest() !== index.contentDigest)
    throw new ImportFileError(`${path}: changed while it was being imported; check it again`);
}

/**
 * A refused record as well as it can be read, for the residue. Cells of a record of the wrong width may be
 * shifted (a password under another column), so only a username and an email that look right are kept.
 */
function looseRow(index: ImportIndex, line: number, cells: readonly string[]): CsvRow {
  const { header } = index;
  const cell = (column: ImportColumn) => {
    const at = header.index[column];
    return at === undefined ? '' : (cells[at] ?? '').trim();
  };
  const row = { line } as CsvRow;
  const aligned = cells.length === header.width;
  for (const column of IMPORT_COLUMNS) row[column] = aligned && column !== 'password' ? cell(column) : '';
  if (!aligned) {
    if (checkUsername(cell('username')).length === 0) row.username = cell('username');
    if (checkEmail(cell('email')).length === 0) row.email = cell('email');
  }
  return row;
}
