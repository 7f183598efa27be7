import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { IMPORT_COLUMNS } from './columns.js';
import type { ImportPerson } from './people.js';

export { IMPORT_COLUMNS };

/**
 * A row in the input format, for the residue file: fix it and import it again. The password is always
 * empty, so that no file we write holds one; the person gives it again or logs in through their identity
 * provider. `line` is where the row was in the input, for the report; it is not a column.
 */
export interface InputRow {
  line: number;
  username: string;
  email: string;
  password: '';
  global_role: string;
  workspace: string;
  workspace_role: string;
  project: string;
  project_role: string;
  cluster: string;
}

/** The person as input rows: one a placement, or one without a placement when they have none. */
export function rowsOf(person: ImportPerson): InputRow[] {
  const base = {
    username: person.username,
    email: person.email,
    password: '' as const,
    global_role: person.globalRole ?? '',
  };
  if (person.placements.length === 0) {
    return [
      {
        line: person.lines[0] ?? 0,
        ...base,
        workspace: '',
        workspace_role: '',
        project: '',
        project_role: '',
        cluster: '',
      },
    ];
  }
  return person.placements.map((placement, i) => ({
    line: placement.line ?? person.lines[i] ?? person.lines[0] ?? 0,
    ...base,
    workspace: placement.workspace,
    workspace_role: placement.workspaceRole ?? '',
    project: placement.project ?? '',
    project_role: placement.projectRole ?? '',
    cluster: placement.cluster ?? '',
  }));
}

export interface WriteCsvOptions {
  /**
   * Prefix cells starting with `=`, `+`, `-`, `@` with `'` so a spreadsheet shows them instead of running
   * them. For reports; never for a residue, which must read back as it was written.
   */
  escapeFormulas?: boolean;
}

type Rows = Iterable<object> | AsyncIterable<object>;

/**
 * Writes `rows` as CSV with `header` as its columns (other fields are left out). A path is written to a
 * new file of mode 0600 beside it, then renamed over it, so that a reader never sees half a file and an
 * existing file's looser mode is not kept. A stream is written to and left open.
 */
export async function writeCsv(
  target: string | Writable,
  header: readonly string[],
  rows: Rows,
  options: WriteCsvOptions = {},
): Promise<void> {
  const stringifier = stringify({
    header: true,
    columns: [...header],
    record_delimiter: 'unix',
    escape_formulas: options.escapeFormulas ?? false,
  });
  if (typeof target !== 'string') {
    await pipeline(Readable.from(rows), stringifier, target, { end: false });
    return;
  }
  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await pipeline(Readable.from(rows), stringifier, createWriteStream(temporary, { flags: 'wx', mode: 0o600 }));
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}
