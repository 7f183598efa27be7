import { createHash, type Hash } from 'node:crypto';
import { quote } from '../policy/names.js';
import { IMPORT_COLUMNS, type Header } from './columns.js';

/**
 * A batch's default id is a digest of the file, so that importing the same file twice names the same batch
 * (and its workflows) instead of starting a second one. Passwords are left out: with the id in every
 * workflow id and search attribute, a digest over them would let anyone who sees an id test guesses.
 */

const DIGESTED = IMPORT_COLUMNS.filter((column) => column !== 'password');

export class ContentDigest {
  private readonly hash: Hash = createHash('sha256');

  /**
   * Adds one data record: its cells in a fixed column order without the password, so that reordering the
   * columns or changing only passwords keeps the id. A record of the wrong width adds only its width, as
   * its cells may be shifted (a password among them).
   */
  add(header: Header, cells: readonly string[]): void {
    const canonical =
      cells.length === header.width
        ? DIGESTED.map((column) => {
            const at = header.index[column];
            return at === undefined ? '' : (cells[at] ?? '').trim();
          })
        : [`(${cells.length} cells)`];
    this.hash.update(`${JSON.stringify(canonical)}\n`);
  }

  /** The full hex digest; ends the digest. */
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** `b-` and the first 16 hex digits (64 bits): distinct enough for the batches one deployment sees. */
export function batchIdOf(contentDigest: string): string {
  return `b-${contentDigest.slice(0, 16)}`;
}

const BATCH_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Why a batch id given on the command line is refused, or undefined when it is fine. */
export function checkBatchId(id: string): string | undefined {
  if (BATCH_ID.test(id)) return undefined;
  return `${quote(id)} must be 1 to 64 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit`;
}
