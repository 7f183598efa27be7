import { mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import type { AuditEvent } from './events.js';

/** Where the worker writes audit events (KS_ONBOARD_AUDIT). */
export type AuditSetting = { kind: 'off' } | { kind: 'stdout' } | { kind: 'file'; path: string };

/**
 * `off`, `stdout` (the default) or `file:<path>`. Undefined means the default: a worker writes its audit trail to
 * stdout, one JSON line per event, for the platform's log shipper (its own logs go to stderr).
 */
export function parseAuditSetting(
  value: string | undefined,
): { ok: true; setting: AuditSetting } | { ok: false; reason: string } {
  const text = value?.trim() ?? '';
  if (text === '' || text === 'stdout') return { ok: true, setting: { kind: 'stdout' } };
  if (text === 'off') return { ok: true, setting: { kind: 'off' } };
  if (text.startsWith('file:')) {
    const path = text.slice('file:'.length);
    if (!path) return { ok: false, reason: 'file: needs a path, e.g. file:/var/log/ks-onboard/audit.jsonl' };
    return { ok: true, setting: { kind: 'file', path: resolve(path) } };
  }
  return { ok: false, reason: `must be off, stdout or file:<path>, not ${JSON.stringify(text)}` };
}

export interface AuditSink {
  /** where it writes, for the worker's start line */
  readonly description: string;
  /** resolves once the line is written (and, for a file, synced to disk) */
  write(event: AuditEvent): Promise<void>;
  close(): Promise<void>;
}

/** Opens the configured sink; a file that cannot be opened fails the start, naming the variable. */
export async function openAuditSink(
  setting: AuditSetting,
  stdout: Writable = process.stdout,
): Promise<AuditSink | undefined> {
  if (setting.kind === 'off') return undefined;
  if (setting.kind === 'stdout') return streamSink(stdout);
  try {
    mkdirSync(dirname(setting.path), { recursive: true });
    return fileSink(await open(setting.path, 'a', 0o640), setting.path);
  } catch (error) {
    throw new Error(
      `KS_ONBOARD_AUDIT=file:${setting.path}: cannot open it for appending (${(error as Error).message})`,
      {
        cause: error,
      },
    );
  }
}

/** One JSON line per event on a stream (stdout): `"schema": "ks-onboard.audit/v1"` tells it from a log line. */
export function streamSink(stream: Writable): AuditSink {
  return {
    description: 'stdout',
    write: (event) =>
      new Promise<void>((done, fail) => {
        stream.write(`${JSON.stringify(event)}\n`, (error) => (error ? fail(error) : done()));
      }),
    close: async () => undefined,
  };
}

/**
 * Appends JSON lines to a file, each write followed by a data sync: an event the worker reported written survives
 * a crash of the machine. Writes that arrive while one is syncing go together in the next write (group commit), so
 * a busy worker pays one sync per batch of lines, not per line.
 */
export function fileSink(handle: FileHandle, path: string): AuditSink {
  let pending: { line: string; done: () => void; fail: (error: Error) => void }[] = [];
  let flushing: Promise<void> | undefined;
  let closed = false;

  async function flush(): Promise<void> {
    while (pending.length) {
      const batch = pending;
      pending = [];
      try {
        await handle.write(batch.map((p) => p.line).join(''));
        await handle.datasync();
        for (const p of batch) p.done();
      } catch (error) {
        for (const p of batch) p.fail(error as Error);
      }
    }
    flushing = undefined;
  }

  return {
    description: `file:${path}`,
    write(event) {
      if (closed) return Promise.reject(new Error(`the audit file ${path} is closed`));
      return new Promise<void>((done, fail) => {
        pending.push({ line: `${JSON.stringify(event)}\n`, done, fail });
        flushing ??= flush();
      });
    },
    async close() {
      closed = true;
      await flushing;
      await handle.close();
    },
  };
}
