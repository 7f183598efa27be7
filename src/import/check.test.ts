import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { checkBatchId } from './batch-id.js';
import { checkImportFile, type ImportCheck } from './check.js';
import { formatImportProblem, ImportFileError } from './problems.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/csv/', import.meta.url));
const bad = (name: string) => join(FIXTURES, 'bad', name);
const good = (name: string) => join(FIXTURES, 'good', name);
const dir = mkdtempSync(join(tmpdir(), 'ks-check-'));

/** `line[/column]` of each problem, in order. */
const where = (check: ImportCheck) => check.problems.map((p) => (p.column ? `${p.line}/${p.column}` : `${p.line}`));
const sorted = (lines: Iterable<number>) => [...lines].sort((a, b) => a - b);

/** Every bad line is named by a problem (as its line, or as the line it conflicts with). */
function expectEveryBadLineReported(check: ImportCheck, lines: number[]): void {
  expect(sorted(check.badLines)).toEqual(lines);
  const named = new Set(check.problems.flatMap((p) => [p.line, ...(p.otherLine ? [p.otherLine] : [])]));
  expect(sorted(named)).toEqual(lines);
}

describe('checkImportFile: files that cannot be read as CSV', () => {
  it('broken quotes: each stray quote by line and column, then the closing quote that stops reading', async () => {
    const check = await checkImportFile(bad('broken-quotes.csv'));
    expect(where(check)).toEqual(['3/username', '5/workspace', '6/workspace']);
    expect(check.problems[2]!.message).toMatch(/not read past this point/);
    expectEveryBadLineReported(check, [3, 5, 6]);
    expect(check).toMatchObject({ blocking: true, stoppedAtLine: 6, people: 0 });
    expect(check.index).toBeUndefined();
  });

  it('a quote never closed: the line it opened on', async () => {
    const check = await checkImportFile(bad('unclosed-quote.csv'));
    expect(where(check)).toEqual(['4/email']);
    expect(check.problems[0]!.message).toMatch(/never closed/);
    expect(check).toMatchObject({ blocking: true, stoppedAtLine: 4 });
  });

  it('Latin-1 bytes: line and column, and that the file must be UTF-8', async () => {
    expect(readFileSync(bad('latin1.csv')).includes(0xe9)).toBe(true);
    const check = await checkImportFile(bad('latin1.csv'));
    expect(where(check)).toEqual(['3/username', '4/workspace']);
    for (const problem of check.problems) expect(problem.message).toMatch(/not valid UTF-8.*save the file as UTF-8/);
    expectEveryBadLineReported(check, [3, 4]);
    // The bad lines hold the people back, and only them.
    expect(check).toMatchObject({ blocking: false, people: 1, heldPeople: ['bob'] });
  });

  it('a file without a header', async () => {
    const check = await checkImportFile(bad('missing-header.csv'));
    expect(where(check)).toEqual(['1']);
    expect(check.problems[0]!.message).toMatch(/first line must be a header/);
    expect(check).toMatchObject({ blocking: true, stoppedAtLine: 1, rows: 0 });
  });

  it('a header without a required column', async () => {
    const check = await checkImportFile(bad('missing-email-column.csv'));
    expect(check.problems.map(formatImportProblem)).toEqual([
      'line 1, column email: is a required column and is missing',
    ]);
    expect(check.blocking).toBe(true);
  });

  it('an unknown column, with a suggestion', async () => {
    const check = await checkImportFile(bad('unknown-column.csv'));
    expect(check.problems.map(formatImportProblem)).toEqual([
      'line 1, column workspce_role: "workspce_role" is not a known column: did you mean `workspace_role`?',
      'line 1, column project role: "project role" is not a known column: did you mean `project_role`?',
    ]);
    expect(check.blocking).toBe(true);
  });

  it('a column named twice', async () => {
    const check = await checkImportFile(bad('duplicate-column.csv'));
    expect(where(check)).toEqual(['1/email']);
    expect(check.blocking).toBe(true);
  });

  it('an empty file', async () => {
    const path = join(dir, 'empty.csv');
    writeFileSync(path, '\n\n');
    const check = await checkImportFile(path);
    expect(check.problems.map(formatImportProblem)).toEqual([
      'line 1: the file is empty: the first line must be a header such as username,email',
    ]);
    expect(check.blocking).toBe(true);
  });

  it('a file that is not there, or a directory: an ImportFileError in words', async () => {
    await expect(checkImportFile(join(dir, 'nope.csv'))).rejects.toThrow(
      new ImportFileError(`${join(dir, 'nope.csv')}: does not exist`),
    );
    await expect(checkImportFile(dir)).rejects.toThrow(/is a directory/);
  });
});

describe('checkImportFile: rows', () => {
  it('names, emails and passwords, by the rules of `onboard`', async () => {
    const check = await checkImportFile(bad('invalid-values.csv'));
    expect(where(check)).toEqual([
      '2/username',
      '3/email',
      '4/password',
      '5/password',
      '6/workspace',
      '7/project',
      '8/cluster',
      '9/password',
      '10/username',
      '11/cluster',
    ]);
    expectEveryBadLineReported(check, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(check.problems.find((p) => p.line === 4)!.message).toBe('must be 8 to 64 characters long (got 5)');
    expect(check.problems.find((p) => p.line === 11)!.message).toMatch(/needs a project/);
    expect(check).toMatchObject({ blocking: false, validRows: 0, people: 0 });
  });

  it('custom roles are refused: only built-in roles are ever bound', async () => {
    const check = await checkImportFile(bad('custom-roles.csv'));
    expect(where(check)).toEqual([
      '2/workspace_role',
      '3/project_role',
      '4/global_role',
      '5/workspace_role',
      '6/workspace_role',
    ]);
    expect(check.problems[0]!.message).toMatch(/"owner" is not a built-in role of workspace team-a/);
    expect(check.problems[1]!.message).toMatch(/"developer" is not a built-in project role/);
    expectEveryBadLineReported(check, [2, 3, 4, 5, 6]);
  });

  it('rows with too many or too few cells', async () => {
    const check = await checkImportFile(bad('cell-count.csv'));
    expect(check.problems.map(formatImportProblem)).toEqual([
      'line 2: has 5 cells but the header names 4 columns (a value with a comma needs quotes: "a,b")',
      'line 3: has 2 cells but the header names 4 columns (a value with a comma needs quotes: "a,b")',
    ]);
    expect(check).toMatchObject({ people: 1, heldPeople: ['alice', 'bob'] });
  });

  it('protected workspaces: system-workspace always, and the ones given', async () => {
    const check = await checkImportFile(bad('protected-workspace.csv'), { protectedWorkspaces: ['legacy-ops'] });
    expect(check.problems.map(formatImportProblem)).toEqual([
      'line 2, column workspace: "system-workspace" is protected: nobody is onboarded into it',
      'line 3, column workspace: "legacy-ops" is protected: nobody is onboarded into it',
    ]);
    expect(where(await checkImportFile(bad('protected-workspace.csv')))).toEqual(['2/workspace']);
  });

  it('a project without a workspace', async () => {
    const check = await checkImportFile(bad('project-without-workspace.csv'));
    expect(check.problems.map(formatImportProblem)).toEqual([
      'line 2, column project: needs a workspace: a project lives in one',
    ]);
  });
});

describe('checkImportFile: rules between rows (each problem names both lines)', () => {
  it('one person, several rows: email, password, platform, workspace and project roles must agree', async () => {
    const check = await checkImportFile(bad('conflicting-duplicates.csv'));
    expect(check.problems.map((p) => [p.line, p.column, p.otherLine])).toEqual([
      [4, 'email', 2],
      [6, 'password', 5],
      [8, 'global_role', 7],
      [10, 'workspace_role', 9],
      [12, 'project_role', 11],
    ]);
    for (const problem of check.problems) expect(problem.message).toContain(`line ${problem.otherLine}`);
    expect(check.problems[3]!.message).toBe(
      'dave is admin of workspace team-d on line 9 but regular (the default for an empty cell) here: one role per workspace',
    );
    expectEveryBadLineReported(check, [2, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // Line 3 (ALICE@…, no password) agrees with line 2 but alice is held whole; frank's empty cells
    // repeat nothing, gina's identical rows are merged with a warning.
    expect(check).toMatchObject({ people: 2, heldPeople: ['alice', 'bob', 'carol', 'dave', 'erin'], heldRows: 1 });
    expect(check.warnings).toContain('line 16: repeats line 15 for gina; merged into one placement');
  });

  it('one email for two usernames: both people held', async () => {
    const check = await checkImportFile(bad('shared-email.csv'));
    expect(check.problems.map(formatImportProblem)).toEqual([
      'line 3, column email: is already the email of alice (line 2): an email belongs to one person',
    ]);
    expect(check).toMatchObject({ people: 1, heldPeople: ['alice', 'bob'] });
    expectEveryBadLineReported(check, [2, 3]);
  });

  it('a project in two workspaces, across people (another cluster is another project)', async () => {
    const check = await checkImportFile(bad('project-in-two-workspaces.csv'));
    expect(check.problems.map(formatImportProblem)).toEqual([
      'line 3, column workspace: project host/web is in workspace team-a on line 2, not team-b: a project lives in one workspace',
    ]);
    expect(check).toMatchObject({ people: 2, heldPeople: ['alice', 'bob'], projects: ['host/web', 'member-1/web'] });
  });

  it('more rows for one person than one request holds', async () => {
    const path = join(dir, 'many-rows.csv');
    const rows = Array.from({ length: 51 }, (_, i) => `alice,alice@example.com,team-a,p${i}`);
    writeFileSync(path, ['username,email,workspace,project', ...rows].join('\n'));
    const check = await checkImportFile(path);
    expect(where(check)).toEqual(['52/username']);
    expect(check.problems[0]!.message).toMatch(/more than 50 rows/);
  });
});

describe('checkImportFile: good files', () => {
  it('BOM and CRLF, a quoted CRLF inside a value, a blank line', async () => {
    const check = await checkImportFile(good('bom-crlf.csv'));
    expect(check.problems).toEqual([]);
    expect(check).toMatchObject({ rows: 4, validRows: 4, people: 4, blocking: false });
    expect(check.index?.lastLines).toEqual(
      new Map([
        ['alice', 2],
        ['bob', 4],
        ['carol', 6],
        ['dave', 7],
      ]),
    );
  });

  it('quoted commas, quotes and line breaks, blank lines, shuffled columns with odd case and spaces', async () => {
    const check = await checkImportFile(good('quoted.csv'));
    expect(check.problems).toEqual([]);
    expect(check.index?.lastLines).toEqual(
      new Map([
        ['alice', 2],
        ['bob', 4],
        ['carol', 6],
        ['dave', 9],
        ['erin', 10],
        ['frank', 13],
      ]),
    );
    expect(check).toMatchObject({
      rows: 6,
      people: 6,
      workspaces: ['team-a', 'team-b', 'team-c'],
      projects: ['host/api', 'host/web', 'member-1/data'],
    });
  });

  it('a person on two rows is one person', async () => {
    const check = await checkImportFile(good('two-projects.csv'));
    expect(check).toMatchObject({ problems: [], rows: 3, validRows: 3, people: 2 });
    expect(check.index?.lastLines.get('alice')).toBe(4);
  });

  it('1,000 generated rows', async () => {
    const path = join(dir, 'thousand.csv');
    const rows = Array.from({ length: 1000 }, (_, i) => {
      const ws = `team-${i % 10}`;
      return `u${i},u${i}@example.com,Secret${i}Pw,${ws},,${ws}-p${i % 3},`;
    });
    writeFileSync(path, ['username,email,password,workspace,workspace_role,project,project_role', ...rows].join('\n'));
    const check = await checkImportFile(path);
    expect(check).toMatchObject({ problems: [], rows: 1000, validRows: 1000, people: 1000, heldRows: 0 });
    expect(check.workspaces).toHaveLength(10);
    expect(check.projects).toHaveLength(30);
    expect(check.index?.lastLines.get('u999')).toBe(1001);
  });
});

describe('passwords never appear in what the check says', () => {
  /** Every password the fixtures hold, read independently of the module under test. */
  function fixturePasswords(): string[] {
    const passwords = new Set(['Header1Missing', 'Quoted9Pass', 'Shifted1Pass']);
    for (const kind of ['good', 'bad']) {
      for (const name of readdirSync(join(FIXTURES, kind))) {
        let records: Record<string, string>[];
        try {
          records = parse(readFileSync(join(FIXTURES, kind, name)), {
            columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
            bom: true,
            relax_column_count: true,
            skip_empty_lines: true,
          });
        } catch {
          continue;
        }
        for (const record of records) if (record.password?.trim()) passwords.add(record.password);
      }
    }
    return [...passwords];
  }

  it('in no problem and no warning of any fixture', async () => {
    const passwords = fixturePasswords();
    expect(passwords.length).toBeGreaterThan(15);
    for (const kind of ['good', 'bad']) {
      for (const name of readdirSync(join(FIXTURES, kind))) {
        const check = await checkImportFile(join(FIXTURES, kind, name));
        const said = JSON.stringify([check.problems.map(formatImportProblem), check.warnings]);
        for (const password of passwords) {
          for (const part of [password, ...password.split(/[\r\n]+/).filter((p) => p.length >= 4)])
            expect(said, `${kind}/${name}`).not.toContain(part.trim());
        }
      }
    }
  });

  it('even when a password lands in a column whose check echoes its value', async () => {
    const path = join(dir, 'shifted.csv');
    writeFileSync(
      path,
      [
        'username,email,password,workspace,workspace_role',
        'alice,Typed9Password,Typed9Password,,',
        'bob,bob@example.com,Typed8Password,Typed8Password,owner',
      ].join('\n'),
    );
    const check = await checkImportFile(path);
    expect(where(check)).toEqual(['2/email', '3/workspace', '3/workspace_role']);
    expect(JSON.stringify(check)).not.toMatch(/Typed\dPassword/);
    expect(check.problems[2]!.message).toContain('is not a built-in role of workspace (hidden)');
  });
});

describe('warnings', () => {
  it('a file with passwords that others can read', async () => {
    const path = join(dir, 'readable.csv');
    copyFileSync(good('two-projects.csv'), path);
    chmodSync(path, 0o644);
    expect((await checkImportFile(path)).warnings).toEqual([
      `${path} holds passwords and other users can read it (mode 644): chmod 600 it, and delete it once imported`,
    ]);
    chmodSync(path, 0o600);
    expect((await checkImportFile(path)).warnings).toEqual([]);
  });

  it('no warning for a readable file without passwords', async () => {
    const path = join(dir, 'no-passwords.csv');
    writeFileSync(path, 'username,email,password\nalice,alice@example.com,\n', { mode: 0o644 });
    chmodSync(path, 0o644);
    expect((await checkImportFile(path)).warnings).toEqual([]);
  });
});

describe('batch id', () => {
  it('is the same for the same rows in another column order or with other passwords, and differs otherwise', async () => {
    const write = (name: string, content: string) => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    };
    const a = await checkImportFile(write('a.csv', 'username,email,password\nalice,alice@example.com,Secret123\n'));
    const b = await checkImportFile(
      write('b.csv', 'password,EMAIL,username\r\nOther456Pw,alice@example.com,alice\r\n'),
    );
    const c = await checkImportFile(write('c.csv', 'username,email\nalice,alice@example.org\n'));
    expect(a.batchId).toMatch(/^b-[0-9a-f]{16}$/);
    expect(b.batchId).toBe(a.batchId);
    expect(c.batchId).not.toBe(a.batchId);
    expect(checkBatchId(a.batchId)).toBeUndefined();
  });

  it('a given one: 1–64 of a-z, 0-9, ".", "_", "-", not starting with a separator', () => {
    for (const id of ['a', 'migration-2026.q4_team', 'x'.repeat(64)]) expect(checkBatchId(id)).toBeUndefined();
    for (const id of ['', '-a', 'A', 'a b', 'x'.repeat(65), 'a/b', '\u001b[31m'])
      expect(checkBatchId(id), id).toMatch(/must be 1 to 64 characters/);
    expect(checkBatchId('\u001b[31m')).not.toContain('\u001b');
  });
});

describe('checkImportFile: a password in the wrong column', () => {
  it('is never echoed, even when the password column holds something else (shifted cells)', async () => {
    const file = join(dir, 'shifted.csv');
    writeFileSync(file, 'username,email,password,workspace\nbob,Bob-Secret-99x,team-s,\n', { mode: 0o600 });
    const check = await checkImportFile(file);
    expect(where(check)).toEqual(['2/email', '2/password']);
    expect(JSON.stringify(check)).not.toContain('Bob-Secret-99x');
    expect(check.problems[0]!.message).toBe('"(hidden)" is not a valid email address');
  });
});
