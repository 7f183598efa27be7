import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { seal, Unsealer } from '../codec/seal.js';
import { checkImportFile } from './check.js';
import { readPeople, readSkippedRows, type ImportPerson } from './people.js';
import { ImportFileError } from './problems.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/csv/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ks-people-'));
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }) as string;
const unsealer = new Unsealer([keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string]);

async function peopleOf(path: string, options: { skipLines?: Set<number> } = {}) {
  const check = await checkImportFile(path);
  const sealed: string[] = [];
  const people: ImportPerson[] = [];
  const sealing = (password: string) => {
    sealed.push(password);
    return seal(password, publicPem);
  };
  for await (const person of readPeople(path, check, { seal: sealing, ...options })) people.push(person);
  return { check, people, sealed };
}

describe('readPeople', () => {
  it('merges a person on two rows into one person with two placements, sealed once', async () => {
    const { people, sealed } = await peopleOf(join(FIXTURES, 'good', 'two-projects.csv'));
    expect(people.map((p) => p.username)).toEqual(['bob', 'alice']);
    const alice = people[1]!;
    expect(alice).toEqual({
      username: 'alice',
      email: 'alice@example.com',
      sealedPassword: expect.stringMatching(/^ks-sealed:v1:/),
      placements: [
        { workspace: 'team-a', workspaceRole: 'regular', project: 'web', projectRole: 'viewer', line: 2 },
        { workspace: 'team-a', project: 'api', line: 4 },
      ],
      lines: [2, 4],
    });
    expect(unsealer.open(alice.sealedPassword!)).toBe('Alice1Secret');
    expect(sealed).toEqual(['Alice1Secret']);
    // A person without a password logs in through an identity provider; a row without a project places
    // them in the workspace only.
    expect(people[0]).toEqual({
      username: 'bob',
      email: 'bob@example.com',
      placements: [{ workspace: 'team-a', line: 3 }],
      lines: [3],
    });
  });

  it('keeps quoted passwords exactly (commas, quotes, line breaks) and the lines after them', async () => {
    const { people } = await peopleOf(join(FIXTURES, 'good', 'quoted.csv'));
    const byName = new Map(people.map((p) => [p.username, p]));
    const open = (name: string) => unsealer.open(byName.get(name)!.sealedPassword!);
    expect(open('alice')).toBe('Has,Comma1');
    expect(open('bob')).toBe('Line\nBreak2');
    expect(open('carol')).toBe('Quote"Inside3');
    expect(open('erin')).toBe('Multi\n\nBlank4');
    expect(byName.get('bob')).toMatchObject({ globalRole: 'platform-regular', lines: [4] });
    expect(byName.get('dave')).toMatchObject({
      placements: [{ workspace: 'team-b', project: 'data', cluster: 'member-1', line: 9 }],
      lines: [9],
    });
    expect(byName.get('frank')).toEqual({
      username: 'frank',
      email: 'frank@example.com',
      placements: [],
      lines: [13],
    });
  });

  it('reads BOM + CRLF files, a CRLF inside a password kept as written', async () => {
    const { people } = await peopleOf(join(FIXTURES, 'good', 'bom-crlf.csv'));
    expect(people.map((p) => [p.username, p.lines])).toEqual([
      ['alice', [2]],
      ['bob', [4]],
      ['carol', [6]],
      ['dave', [7]],
    ]);
    expect(unsealer.open(people[1]!.sealedPassword!)).toBe('Two\r\nLines9');
    expect(unsealer.open(people[3]!.sealedPassword!)).toBe('Comma,1Pass');
  });

  it('hands each person out at their last row, merges repeated rows, leaves held people out', async () => {
    const { people, check } = await peopleOf(join(FIXTURES, 'bad', 'conflicting-duplicates.csv'));
    expect(check.heldPeople).toEqual(['alice', 'bob', 'carol', 'dave', 'erin']);
    expect(people).toEqual([
      {
        username: 'frank',
        email: 'frank@example.com',
        sealedPassword: expect.any(String),
        globalRole: 'platform-regular',
        placements: [
          { workspace: 'team-f', line: 13 },
          { workspace: 'team-f', project: 'site', line: 14 },
        ],
        lines: [13, 14],
      },
      { username: 'gina', email: 'gina@example.com', placements: [{ workspace: 'team-g', line: 15 }], lines: [15, 16] },
    ]);
  });

  it('skips the lines it is told to, and still hands out the rest of the person', async () => {
    const { people, sealed } = await peopleOf(join(FIXTURES, 'good', 'two-projects.csv'), {
      skipLines: new Set([2, 3]),
    });
    expect(people).toEqual([
      {
        username: 'alice',
        email: 'alice@example.com',
        placements: [{ workspace: 'team-a', project: 'api', line: 4 }],
        lines: [4],
      },
    ]);
    expect(sealed).toEqual([]);
  });

  it('hands out every person of a 1,000-row file, each at their last row', async () => {
    const path = join(dir, 'thousand.csv');
    const rows = Array.from({ length: 1000 }, (_, i) => {
      const person = Math.floor(i / 2);
      const ws = `team-${person % 10}`;
      return `u${person},u${person}@example.com,${i % 2 ? '' : `Secret${person}Pw`},${ws},${ws}-p${i % 2}`;
    });
    writeFileSync(path, ['username,email,password,workspace,project', ...rows].join('\n'));
    const check = await checkImportFile(path);
    const people: ImportPerson[] = [];
    for await (const person of readPeople(path, check, { seal: (p) => `ks-sealed:test:${p}` })) people.push(person);
    expect(people).toHaveLength(500);
    expect(people[499]).toEqual({
      username: 'u499',
      email: 'u499@example.com',
      sealedPassword: 'ks-sealed:test:Secret499Pw',
      placements: [
        { workspace: 'team-9', project: 'team-9-p0', line: 1000 },
        { workspace: 'team-9', project: 'team-9-p1', line: 1001 },
      ],
      lines: [1000, 1001],
    });
  });

  it('refuses a file whose check blocks the import', async () => {
    const path = join(FIXTURES, 'bad', 'broken-quotes.csv');
    const check = await checkImportFile(path);
    const read = async () => {
      for await (const _ of readPeople(path, check, { seal: (p) => p })) return;
    };
    await expect(read()).rejects.toThrow(ImportFileError);
  });

  it('refuses a file changed since the check, even at the same size and time', async () => {
    const path = join(dir, 'changing.csv');
    copyFileSync(join(FIXTURES, 'good', 'two-projects.csv'), path);
    const check = await checkImportFile(path);
    appendFileSync(path, 'carol,carol@example.com,,team-a,,,\n');
    const drain = async () => {
      for await (const _ of readPeople(path, check, { seal: (p) => p }));
    };
    await expect(drain()).rejects.toThrow(/changed since it was checked/);

    // Rewritten within the stamp's resolution: only the content digest sees it.
    const recheck = await checkImportFile(path);
    writeFileSync(path, readFileSync(path, 'utf8').replace('team-a,,,', 'team-b,,,'));
    const { size, mtimeMs, mode } = statSync(path);
    const stale = { ...recheck, index: { ...recheck.index!, stamp: { size, mtimeMs, mode } } };
    const drainStale = async () => {
      for await (const _ of readPeople(path, stale, { seal: (p) => p }));
    };
    await expect(drainStale()).rejects.toThrow(/changed while it was being imported/);
  });
});

describe('readSkippedRows', () => {
  it('gives the bad lines and every row of a held person, without passwords', async () => {
    const path = join(FIXTURES, 'bad', 'conflicting-duplicates.csv');
    const check = await checkImportFile(path);
    const rows = [];
    for await (const row of readSkippedRows(path, check)) rows.push(row);
    expect(rows.map((r) => r.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(rows.every((r) => r.password === '')).toBe(true);
    expect(rows[2]).toEqual({
      line: 4,
      username: 'alice',
      email: 'alice@other.example',
      password: '',
      global_role: '',
      workspace: 'team-a',
      workspace_role: '',
      project: 'db',
      project_role: '',
      cluster: '',
    });
  });

  it('keeps only a username and an email that look right from a row of the wrong width', async () => {
    const path = join(FIXTURES, 'bad', 'cell-count.csv');
    const check = await checkImportFile(path);
    const rows = [];
    for await (const row of readSkippedRows(path, check)) rows.push(row);
    expect(rows.map((r) => [r.line, r.username, r.email, r.workspace])).toEqual([
      [2, 'alice', 'alice@example.com', ''],
      [3, 'bob', 'bob@example.com', ''],
    ]);
    expect(JSON.stringify(rows)).not.toContain('Shifted1Pass');
  });
});
