import { describeFileError } from '../files.js';
import { stat } from 'node:fs/promises';
import { ImportFileError } from './problems.js';

/** What identifies the file's content between the two passes without reading it again. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  mode: number;
}

/** The import file's stamp; an ImportFileError in words when it is missing, a directory or unreadable. */
export async function stampOf(path: string): Promise<FileStamp> {
  let stats;
  try {
    stats = await stat(path);
  } catch (error) {
    throw new ImportFileError(`${path}: ${describeFileError(error as NodeJS.ErrnoException)}`);
  }
  if (stats.isDirectory()) throw new ImportFileError(`${path}: is a directory, not a CSV file`);
  if (!stats.isFile()) throw new ImportFileError(`${path}: is not a regular file (the import reads it twice)`);
  return { size: stats.size, mtimeMs: stats.mtimeMs, mode: stats.mode };
}

export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** A stream error while reading, in the same words. */
export function fileReadError(path: string, error: unknown): ImportFileError {
  if (error instanceof ImportFileError) return error;
  return new ImportFileError(`${path}: ${describeFileError(error as NodeJS.ErrnoException)}`);
}
