import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { checkImportFile } from './check.js';
import { readPeople, type ImportPerson } from './people.js';
import { IMPORT_COLUMNS, rowsOf, writeCsv } from './write.js';

const dir = mkdtempSync(join(tmpdir(), 'ks-write-'));

const alice: ImportPerson = {
  username: 'alice',
  email: 'alice@example.com',
  sealedPassword: 'ks-sealed:v1:abc:def',
  globalRole: 'platform-regular',
  placements: [
    { workspace: 'team-a', workspaceRole: 'regular', project: 'web', projectRole: 'viewer', line: 2 },
    { workspace: 'team-a', project: 'api', cluster: 'member-1', line: 5 },
  ],
  lines: [2, 5],
};

describe('rowsOf', () => {
  it('one row a placement, never a password', () => {
    expect(rowsOf(alice)).toEqual([
      {
        line: 2,
        username: 'alice',
        email: 'alice@example.com',
        password: '',
        global_role: 'platform-regular',
        workspace: 'team-a',
        workspace_role: 'regular',
        project: 'web',
        project_role: 'viewer',
        cluster: '',
      },
      {
        line: 5,
        username: 'alice',
        email: 'alice@example.com',
        password: '',
        global_role: 'platform-regular',
        workspace: 'team-a',
        workspace_role: '',
        project: 'api',
        project_role: '',
        cluster: 'member-1',
      },
    ]);
  });

  it('one row for a person placed nowhere', () => {
    const rows = rowsOf({ username: 'bob', email: 'bob@example.com', placements: [], lines: [7] });
    expect(rows).toEqual([
      {
        line: 7,
        username: 'bob',
        email: 'bob@example.com',
        password: '',
        global_role: '',
        workspace: '',
        workspace_role: '',
        project: '',
        project_role: '',
        cluster: '',
      },
    ]);
  });
});

describe('writeCsv', () => {
  it('writes a residue of mode 0600 that reads back as the same people', async () => {
    const path = join(dir, 'residue.csv');
    writeFileSync(path, 'old content\n', { mode: 0o644 });
    const weird: ImportPerson = {
      username: 'carol',
      email: 'carol@example.com',
      placements: [{ workspace: 'team-b', line: 9 }],
      lines: [9],
    };
    await writeCsv(path, IMPORT_COLUMNS, [...rowsOf(alice), ...rowsOf(weird)]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8').split('\n')[0]).toBe(IMPORT_COLUMNS.join(','));

    const check = await checkImportFile(path);
    expect(check.problems).toEqual([]);
    const people = [];
    for await (const person of readPeople(path, check, { seal: () => 'never' })) people.push(person);
    expect(people).toEqual(
      [
        {
          ...alice,
          sealedPassword: undefined,
          placements: alice.placements.map((p, i) => ({ ...p, line: i + 2 })),
          lines: [2, 3],
        },
        { ...weird, placements: [{ workspace: 'team-b', line: 4 }], lines: [4] },
      ].map(({ sealedPassword: _, ...person }) => person),
    );
  });

  it('quotes what needs quotes, and escapes formulas only when asked (reports)', async () => {
    const rows = [
      { line: 1, message: 'a, "b"\nc' },
      { line: 2, message: '=HYPERLINK("x")' },
    ];
    const plain = join(dir, 'plain.csv');
    await writeCsv(plain, ['line', 'message'], rows);
    expect(readFileSync(plain, 'utf8')).toBe('line,message\n1,"a, ""b""\nc"\n2,"=HYPERLINK(""x"")"\n');
    const report = join(dir, 'report.csv');
    await writeCsv(report, ['line', 'message'], rows, { escapeFormulas: true });
    expect(readFileSync(report, 'utf8')).toContain(`2,"'=HYPERLINK(""x"")"`);
  });

  it('writes to a stream and leaves it open', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk));
    async function* rows() {
      yield { line: 1, username: 'a' };
    }
    await writeCsv(out, ['line', 'username'], rows());
    expect(out.writableEnded).toBe(false);
    expect(Buffer.concat(chunks).toString()).toBe('line,username\n1,a\n');
  });
});
