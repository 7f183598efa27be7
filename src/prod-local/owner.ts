import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { processStartTime } from './process.js';

/**
 * Which `stack prod-local` owns a data directory: one at a time. The owner records its pid and start time (see
 * processStartTime) in `<data>/prod-local/run/stack.pid`; a second start on the same directory while that process
 * lives is refused before it stops or starts anything. A file whose process is gone (or whose pid now names another
 * process) is a leftover of an abrupt end, and the new start takes over.
 */

/** A start refused before it touched anything; the CLI exits 2 with this message. */
export class ProdLocalRefusal extends Error {
  override readonly name = 'ProdLocalRefusal';
}

export interface Owner {
  pid: number;
  startTime: string;
}

export interface Ownership {
  /** removes the owner file when it still names this process */
  release(): void;
}

/** This process, as an owner file names it. */
function self(): Owner {
  const startTime = processStartTime(process.pid);
  if (!startTime) throw new Error(`cannot read /proc/${process.pid}/stat: stack prod-local needs Linux's /proc`);
  return { pid: process.pid, startTime };
}

export function readOwner(file: string): Owner | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const [pid, startTime] = text.trim().split(/\s+/);
  return pid && startTime && /^\d+$/.test(pid) ? { pid: Number(pid), startTime } : { pid: 0, startTime: '' };
}

/** Whether that very process (not a later one given the same pid) still runs. */
export function ownerAlive(owner: Owner): boolean {
  return owner.pid > 0 && processStartTime(owner.pid) === owner.startTime;
}

/**
 * Makes this process the owner of the data directory, or throws a ProdLocalRefusal naming the live owner. Calling it
 * again from the owner is a no-op.
 */
export function claimDataDir(file: string, dataDir: string): Ownership {
  const me = self();
  const line = `${me.pid} ${me.startTime}\n`;
  mkdirSync(dirname(file), { recursive: true });
  const ownership: Ownership = {
    release() {
      const owner = readOwner(file);
      if (owner && owner.pid === me.pid && owner.startTime === me.startTime) rmSync(file, { force: true });
    },
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      writeFileSync(file, line, { flag: 'wx', mode: 0o644 }); // atomic: of two starts at once, one creates it
      return ownership;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = readOwner(file);
    if (!owner) continue; // removed meanwhile
    if (owner.pid === me.pid && owner.startTime === me.startTime) return ownership;
    if (ownerAlive(owner))
      throw new ProdLocalRefusal(
        `the data directory ${dataDir} is in use by a running stack prod-local (ks-onboard pid ${owner.pid}; ${file}): ` +
          `nothing was stopped or started. Stop that one first (Ctrl-C in its terminal, or kill -TERM ${owner.pid}), ` +
          'or give this one another KS_ONBOARD_DATA_DIR (and other ports and databases)',
      );
    // its owner is gone: a leftover of an abrupt end, removed unless another start took it over meanwhile
    const again = readOwner(file);
    if (again && again.pid === owner.pid && again.startTime === owner.startTime) rmSync(file, { force: true });
  }
  throw new Error(`cannot take ${file}: other starts keep taking it`);
}
