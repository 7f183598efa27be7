import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCsvRecords, type CsvEvent } from './records.js';

const dir = mkdtempSync(join(tmpdir(), 'ks-records-'));
let files = 0;
function file(content: string | Buffer): string {
  const path = join(dir, `f${files++}.csv`);
  writeFileSync(path, content);
  return path;
}

async function read(path: string, maxRecordBytes?: number): Promise<CsvEvent[]> {
  const events: CsvEvent[] = [];
  for await (const event of readCsvRecords(path, { maxRecordBytes })) events.push(event);
  return events;
}

const records = (events: CsvEvent[]) =>
  events.flatMap((e) => (e.kind === 'record' ? [[e.line, e.cells.join('|')] as const] : []));

describe('readCsvRecords', () => {
  it('numbers each record by its first line: LF, blank lines, values over several lines', async () => {
    const events = await read(file('a,b\n1,2\n\n"x\ny",3\n\n\n"p\n\nq",4\n5,6'));
    expect(records(events)).toEqual([
      [1, 'a|b'],
      [2, '1|2'],
      [4, 'x\ny|3'],
      [8, 'p\n\nq|4'],
      [11, '5|6'],
    ]);
  });

  it('numbers CRLF files right after a value with a CRLF inside (csv-parse counts those twice)', async () => {
    const events = await read(file('\ufeffa,b\r\n1,2\r\n\r\n"x\r\ny",3\r\n"m\r\n\r\nn",4\r\n5,6\r\n'));
    expect(records(events)).toEqual([
      [1, 'a|b'],
      [2, '1|2'],
      [4, 'x\r\ny|3'],
      [6, 'm\r\n\r\nn|4'],
      [9, '5|6'],
    ]);
  });

  it('strips a BOM from the first cell', async () => {
    const events = await read(file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('username,email\n')])));
    expect(records(events)).toEqual([[1, 'username|email']]);
  });

  it('keeps rows of any width for the caller to judge', async () => {
    expect(records(await read(file('a,b\n1,2,3\n4\n')))).toEqual([
      [1, 'a|b'],
      [2, '1|2|3'],
      [3, '4'],
    ]);
  });

  it('reports a stray quote with its line and cell, and reads on', async () => {
    const events = await read(file('a,b\n1,2\nx"y,3\n4,5"\n6,7\n'));
    expect(records(events)).toEqual([
      [1, 'a|b'],
      [2, '1|2'],
      [5, '6|7'],
    ]);
    expect(events.filter((e) => e.kind === 'problem')).toEqual([
      expect.objectContaining({ line: 3, cell: 0, stop: false }),
      expect.objectContaining({ line: 4, cell: 1, stop: false }),
    ]);
  });

  it('stops at a closing quote followed by text, keeping the records before it', async () => {
    const events = await read(file('a,b\n1,2\n"x"y,3\n4,5\n'));
    expect(records(events)).toEqual([
      [1, 'a|b'],
      [2, '1|2'],
    ]);
    expect(events.at(-1)).toEqual(expect.objectContaining({ kind: 'problem', line: 3, stop: true }));
  });

  it('names the line where a quote that never closes opened', async () => {
    const events = await read(file('a,b\n1,2\n\n3,"x\n4,5\n6,7\n'));
    expect(records(events)).toEqual([
      [1, 'a|b'],
      [2, '1|2'],
    ]);
    expect(events.at(-1)).toEqual(expect.objectContaining({ kind: 'problem', line: 4, cell: 1, stop: true }));
  });

  it('refuses a record above the size bound with the line it starts on, keeping the records before it', async () => {
    const big = 'x'.repeat(5000);
    const events = await read(file(`a,b\n1,2\n3,"${big}\n4,5\n${'6,7\n'.repeat(2000)}`), 1024);
    expect(records(events)).toEqual([
      [1, 'a|b'],
      [2, '1|2'],
    ]);
    const last = events.at(-1);
    expect(last).toEqual(expect.objectContaining({ kind: 'problem', line: 3, stop: true }));
    expect(last?.kind === 'problem' && last.message).toMatch(/longer than 1 KiB/);
  });

  it('decodes bytes that are not UTF-8 as U+FFFD for the row checks to report', async () => {
    const events = await read(file(Buffer.from('a,b\ncaf\xe9,2\n', 'latin1')));
    expect(records(events)).toEqual([
      [1, 'a|b'],
      [2, 'caf\ufffd|2'],
    ]);
  });

  it('keeps a multi-byte character split across read chunks', async () => {
    const row = `${'x'.repeat(65535)}é,2\n`;
    const events = await read(file(`a,b\n${row}`), 128 * 1024);
    expect(records(events)[1]).toEqual([2, `${'x'.repeat(65535)}é|2`]);
  });

  it('rejects with the stream error for a missing file', async () => {
    await expect(read(join(dir, 'missing.csv'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
