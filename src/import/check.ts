import { createHmac, randomBytes } from 'node:crypto';
import { projectTarget, type OnboardingPlan } from '../policy/plan.js';
import { ALWAYS_PROTECTED_WORKSPACES } from '../policy/worker-policy.js';
import { batchIdOf, ContentDigest } from './batch-id.js';
import { parseHeader, type Header } from './columns.js';
import { CrossRowChecks, type RowFacts } from './cross-rows.js';
import { fileReadError, stampOf, type FileStamp } from './file.js';
import { byLine, type ImportProblem } from './problems.js';
import { readCsvRecords, type CsvEvent } from './records.js';
import { checkRow, rowFromCells, usernameOf, type CsvRow } from './rows.js';

export interface CheckOptions {
  /** workspaces nobody is placed in, besides system-workspace (the worker's list) */
  protectedWorkspaces?: readonly string[];
  maxRecordBytes?: number;
}

/** What the second pass needs from the first; not for display. */
export interface ImportIndex {
  header: Header;
  /** the last line of each person to import: the person is handed out when it is read */
  lastLines: Map<string, number>;
  stamp: FileStamp;
  contentDigest: string;
  maxRecordBytes?: number;
}

export interface ImportCheck {
  file: string;
  /** every problem of every bad line, by line */
  problems: ImportProblem[];
  warnings: string[];
  /** data rows read, valid or not */
  rows: number;
  /** rows without a problem of their own */
  validRows: number;
  /** valid rows not imported because another row of the same person is bad */
  heldRows: number;
  /** people the second pass hands out: every row of theirs is valid */
  people: number;
  /**
   * People with at least one bad row: held back whole, as the bad row may carry their password or
   * platform role, and half a person would be a different request when the fixed rows come back.
   */
  heldPeople: string[];
  badLines: Set<number>;
  /**
   * A problem that is not confined to known people's rows (the header, a broken quote, a part of the file
   * not read): nothing may be imported until the file is fixed, whatever --skip-invalid says.
   */
  blocking: boolean;
  /** the line after which the file was not read (a quote never closed, a record too long, a bad header) */
  stoppedAtLine?: number;
  /** `b-` + 16 hex digits of contentDigest */
  batchId: string;
  /** sha256 of the rows without their passwords */
  contentDigest: string;
  /** workspaces the people to import are placed in */
  workspaces: string[];
  /** projects the people to import are placed in, as `<cluster>/<project>` (`host/…` for the host cluster) */
  projects: string[];
  /** for readPeople and readSkippedRows; absent when the import is blocked */
  index?: ImportIndex;
}

/**
 * Pass 1 of an import: reads the whole file once, streaming, and finds every problem of every line, by the
 * same policy as the single `onboard` command plus the rules between rows. Keeps keys per row, never rows.
 * Throws an ImportFileError only when the file cannot be read at all.
 */
export async function checkImportFile(path: string, options: CheckOptions = {}): Promise<ImportCheck> {
  const stamp = await stampOf(path);
  const protectedWorkspaces = new Set([...ALWAYS_PROTECTED_WORKSPACES, ...(options.protectedWorkspaces ?? [])]);
  // Passwords are compared through a keyed digest that lives as long as this check: equal or not, nothing more.
  const passwordKey = randomBytes(32);
  const tagOf = (password: string) => createHmac('sha256', passwordKey).update(password).digest().readUIntBE(0, 6);

  const problems: ImportProblem[] = [];
  const warnings: string[] = [];
  const badLines = new Set<number>();
  const held = new Set<string>();
  const cross = new CrossRowChecks();
  const digest = new ContentDigest();
  let header: Header | undefined;
  let rows = 0;
  let blocking = false;
  let stoppedAtLine: number | undefined;
  let hasPasswords = false;
  let lastProblemLine = 0;

  const reject = (found: ImportProblem[], username?: string) => {
    problems.push(...found);
    for (const problem of found) {
      badLines.add(problem.line);
      if (problem.otherLine !== undefined) badLines.add(problem.otherLine);
    }
    if (username !== undefined) held.add(username);
  };

  const onProblem = (event: Extract<CsvEvent, { kind: 'problem' }>) => {
    const column = header && event.cell !== undefined ? columnAt(header, event.cell) : undefined;
    reject([{ line: event.line, ...(column ? { column } : {}), message: event.message }]);
    // Whose row it was is unknown: a person may lose a row without anyone knowing which.
    blocking = true;
    if (header && event.line !== lastProblemLine) rows++;
    lastProblemLine = event.line;
    if (event.stop) stoppedAtLine = event.line;
  };

  const onRow = (row: CsvRow) => {
    const checked = checkRow(row, protectedWorkspaces);
    if (!checked.ok) return reject(checked.problems, row.username || undefined);
    const facts = factsOf(row, checked.plan, tagOf);
    const result = cross.add(facts);
    if (result.problems.length) {
      reject(result.problems, row.username);
      for (const other of result.alsoHold) held.add(other);
      return;
    }
    if (result.repeats !== undefined)
      warnings.push(`line ${row.line}: repeats line ${result.repeats} for ${row.username}; merged into one placement`);
  };

  try {
    for await (const event of readCsvRecords(path, { maxRecordBytes: options.maxRecordBytes })) {
      if (event.kind === 'problem') {
        onProblem(event);
        continue;
      }
      if (!header) {
        const parsed = parseHeader(event.cells, event.line);
        if (!parsed.ok) {
          reject(parsed.problems);
          blocking = true;
          stoppedAtLine = event.line;
          break;
        }
        header = parsed.header;
        continue;
      }
      rows++;
      digest.add(header, event.cells);
      if (header.index.password !== undefined && event.cells[header.index.password]) hasPasswords = true;
      const parsed = rowFromCells(header, event.line, event.cells);
      if (!parsed.ok) reject(parsed.problems, usernameOf(header, event.cells));
      else onRow(parsed.row);
    }
  } catch (error) {
    throw fileReadError(path, error);
  }

  if (!header && problems.length === 0) {
    reject([{ line: 1, message: 'the file is empty: the first line must be a header such as username,email' }]);
    blocking = true;
  } else if (header && rows === 0) {
    warnings.push('the file has a header and no rows: nothing to import');
  }
  if (hasPasswords && (stamp.mode & 0o044) !== 0) {
    warnings.push(
      `${path} holds passwords and other users can read it (mode ${(stamp.mode & 0o777).toString(8)}): chmod 600 it, and delete it once imported`,
    );
  }

  const { lastLines, rows: importedRows, workspaces, projects } = cross.finish(held);
  const contentDigest = digest.digest();
  const validRows = Math.max(0, rows - badLines.size);
  const imported = blocking ? 0 : importedRows;
  return {
    file: path,
    problems: problems.sort(byLine),
    warnings,
    rows,
    validRows,
    heldRows: Math.max(0, validRows - imported),
    people: blocking ? 0 : lastLines.size,
    heldPeople: [...held].sort(),
    badLines,
    blocking,
    ...(stoppedAtLine === undefined ? {} : { stoppedAtLine }),
    batchId: batchIdOf(contentDigest),
    contentDigest,
    workspaces: blocking ? [] : workspaces,
    projects: blocking ? [] : projects,
    ...(header && !blocking
      ? { index: { header, lastLines, stamp, contentDigest, maxRecordBytes: options.maxRecordBytes } }
      : {}),
  };
}

function columnAt(header: Header, cell: number): string | undefined {
  return Object.entries(header.index).find(([, at]) => at === cell)?.[0];
}

function factsOf(row: CsvRow, plan: OnboardingPlan, tagOf: (password: string) => number): RowFacts {
  // One row is one placement: at most one workspace and one project.
  const [workspace] = plan.workspaces;
  const [project] = plan.projects;
  return {
    line: row.line,
    username: plan.username,
    email: plan.email,
    ...(row.password ? { passwordTag: tagOf(row.password) } : {}),
    ...(row.global_role ? { globalRole: plan.globalRole } : {}),
    ...(workspace
      ? { workspace: { name: workspace.name, role: workspace.suffix, defaulted: row.workspace_role === '' } }
      : {}),
    ...(project
      ? {
          project: {
            target: projectTarget(project.cluster, project.name),
            role: project.role,
            defaulted: row.project_role === '',
          },
        }
      : {}),
  };
}
