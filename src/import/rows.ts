import { checkPassword, checkUsername, escapeControl, quote } from '../policy/names.js';
import { planOnboarding, type OnboardingPlan } from '../policy/plan.js';
import { IMPORT_COLUMNS, type Header, type ImportColumn } from './columns.js';
import type { ImportProblem } from './problems.js';

/** One data record by column name; absent columns are empty. */
export type CsvRow = { line: number } & Record<ImportColumn, string>;

/** The policy's field names for the columns that differ from them. */
const COLUMN_OF_FIELD: Record<string, ImportColumn> = {
  username: 'username',
  email: 'email',
  globalRole: 'global_role',
  workspace: 'workspace',
  workspaceRole: 'workspace_role',
  project: 'project',
  projectRole: 'project_role',
  cluster: 'cluster',
};

/** A decoder's replacement character: the bytes there were not UTF-8. */
const NOT_UTF8 = '\uFFFD';

export type RowResult = { ok: true; row: CsvRow } | { ok: false; problems: ImportProblem[] };

/**
 * The record's cells by column. Refused when the cell count differs from the header's (the cells would be
 * read into the wrong columns) or when a cell is not UTF-8. Cells lose surrounding spaces, as hand-written
 * CSV has them after commas; a password is kept exactly as written, since spaces may be part of it.
 */
export function rowFromCells(header: Header, line: number, cells: readonly string[]): RowResult {
  if (cells.length !== header.width) {
    return {
      ok: false,
      problems: [
        {
          line,
          message: `has ${cells.length} cells but the header names ${header.width} columns (a value with a comma needs quotes: "a,b")`,
        },
      ],
    };
  }
  const problems: ImportProblem[] = [];
  const row = { line } as CsvRow;
  for (const column of IMPORT_COLUMNS) {
    const at = header.index[column];
    const cell = at === undefined ? '' : (cells[at] ?? '');
    if (cell.includes(NOT_UTF8)) {
      problems.push({
        line,
        column,
        message: `is not valid UTF-8 (a byte such as Latin-1 "é" written as 0xE9): save the file as UTF-8 and import it again`,
      });
    }
    row[column] = column === 'password' ? cell : cell.trim();
  }
  return problems.length ? { ok: false, problems } : { ok: true, row };
}

/** The username a refused record names, when it names a valid one: that person is held back with it. */
export function usernameOf(header: Header, cells: readonly string[]): string | undefined {
  const at = header.index.username;
  const username = at === undefined ? undefined : cells[at]?.trim();
  return username && checkUsername(username).length === 0 ? username : undefined;
}

export type CheckedRow = { ok: true; plan: OnboardingPlan } | { ok: false; problems: ImportProblem[] };

/**
 * One row by the rules of the single `onboard` command: the same policy function, so that a row the import
 * accepts is a request `onboard` would accept, plus what only a file can get wrong.
 */
export function checkRow(row: CsvRow, protectedWorkspaces: ReadonlySet<string>): CheckedRow {
  const given = (value: string) => (value === '' ? undefined : value);
  const planned = planOnboarding({
    username: row.username,
    email: row.email,
    globalRole: given(row.global_role),
    workspace: given(row.workspace),
    workspaceRole: given(row.workspace_role),
    project: given(row.project),
    projectRole: given(row.project_role),
    cluster: given(row.cluster),
  });
  const problems: ImportProblem[] = planned.ok
    ? []
    : planned.problems.map((p) => ({
        line: row.line,
        column: COLUMN_OF_FIELD[p.field] ?? p.field,
        message: p.message,
      }));

  if (row.password !== '') {
    if (row.password.trim() !== row.password) {
      problems.push({
        line: row.line,
        column: 'password',
        message:
          'starts or ends with white space (a space after the comma?): quote the value if the spaces belong to it',
      });
    } else {
      problems.push(
        ...checkPassword(row.password).map((p) => ({ line: row.line, column: 'password', message: p.message })),
      );
    }
  }
  if (row.workspace !== '' && protectedWorkspaces.has(row.workspace)) {
    problems.push({
      line: row.line,
      column: 'workspace',
      message: `${quote(row.workspace)} is protected: nobody is onboarded into it`,
    });
  }
  if (row.cluster !== '' && row.project === '') {
    problems.push({
      line: row.line,
      column: 'cluster',
      message: 'needs a project: a cluster only says where a project is',
    });
  }
  if (problems.length || !planned.ok) return { ok: false, problems: hidePassword(problems, row.password) };
  return { ok: true, plan: planned.plan };
}

/**
 * A password typed into another column (shifted cells) would be echoed by that column's check: a quoted
 * value that contains it is hidden whole, and so is the password anywhere else in the message (from three
 * characters on: shorter, hiding it would garble the message more than it protects).
 */
function hidePassword(problems: ImportProblem[], password: string): ImportProblem[] {
  const forms = password === '' ? [] : [password, escapeControl(password), quote(password).slice(1, -1)];
  // A value that would pass as a password is hidden too: shifted cells may carry another row's password, or
  // this row's while its password column holds something else.
  const looksLikePassword = (quoted: string) => checkPassword(quoted.slice(1, -1)).length === 0;
  const hideQuoted = (quoted: string) =>
    forms.some((form) => quoted.includes(form)) || looksLikePassword(quoted) ? '"(hidden)"' : quoted;
  return problems.map((p) => {
    let message = p.message.replace(/"(?:[^"\\]|\\.)*"/g, hideQuoted);
    for (const form of forms) if (form.length >= 3) message = message.split(form).join('(hidden)');
    return { ...p, message };
  });
}
