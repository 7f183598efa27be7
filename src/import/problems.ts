/**
 * What is wrong with an import file, by line and column, so that a person can fix the file in an editor.
 * Messages never carry a password: they are printed, written to reports and may reach workflow history.
 */
export interface ImportProblem {
  /** the line where the record starts (a quoted value may span several lines) */
  line: number;
  /** the CSV column, as the header names it */
  column?: string;
  message: string;
  /** the earlier line a cross-row problem conflicts with; both lines are held back */
  otherLine?: number;
}

/** `line 7, column workspace_role: …` */
export function formatImportProblem(problem: ImportProblem): string {
  const where =
    problem.column === undefined ? `line ${problem.line}` : `line ${problem.line}, column ${problem.column}`;
  return `${where}: ${problem.message}`;
}

/** The file itself cannot be read (missing, a directory, no permission): nothing about its lines is known. */
export class ImportFileError extends Error {
  override readonly name = 'ImportFileError';
}

export function byLine(a: ImportProblem, b: ImportProblem): number {
  return a.line - b.line;
}
