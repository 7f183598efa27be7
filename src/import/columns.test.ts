import { describe, expect, it } from 'vitest';
import { editDistance, IMPORT_COLUMNS, parseHeader, suggestColumn } from './columns.js';

describe('parseHeader', () => {
  it('takes the columns in any order and case, spaces around ignored', () => {
    const parsed = parseHeader([' EMAIL ', 'Username', 'project_role', ' cluster'], 3);
    expect(parsed).toEqual({
      ok: true,
      header: { line: 3, width: 4, index: { email: 0, username: 1, project_role: 2, cluster: 3 } },
    });
  });

  it('needs username and email, nothing else', () => {
    expect(parseHeader(['username', 'email'], 1).ok).toBe(true);
    const parsed = parseHeader(['username', 'workspace'], 1);
    expect(parsed).toEqual({
      ok: false,
      problems: [{ line: 1, column: 'email', message: 'is a required column and is missing' }],
    });
  });

  it('refuses a column named twice after normalisation', () => {
    const parsed = parseHeader(['username', 'Email', 'workspace', ' EMAIL '], 1);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problems).toEqual([expect.objectContaining({ line: 1, column: 'email' })]);
  });

  it('refuses an unknown column with the column it probably meant', () => {
    const parsed = parseHeader(['username', 'email', 'workspce_role', 'Project Role', 'team'], 1);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems.map((p) => [p.column, p.message])).toEqual([
      ['workspce_role', '"workspce_role" is not a known column: did you mean `workspace_role`?'],
      ['project role', '"project role" is not a known column: did you mean `project_role`?'],
      ['team', `"team" is not a known column: the columns are ${IMPORT_COLUMNS.join(', ')}`],
    ]);
  });

  it('says a first line of data is not a header, without echoing its cells', () => {
    const parsed = parseHeader(['alice', 'alice@example.com', 'Secret123x'], 1);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems).toHaveLength(1);
    expect(parsed.problems[0]!.message).toMatch(/first line must be a header/);
    expect(JSON.stringify(parsed.problems)).not.toMatch(/alice|Secret123x/);
  });

  it('does not echo a header cell that does not look like a name', () => {
    const parsed = parseHeader(['username', 'email', 'S3cret!Pass#'], 1);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(JSON.stringify(parsed.problems)).not.toMatch(/S3cret/i);
  });
});

describe('suggestColumn', () => {
  it.each([
    ['workspce_role', 'workspace_role'],
    ['Workspace Role', 'workspace_role'],
    ['user-name', 'username'],
    ['e-mail', 'email'],
    ['mail', 'email'],
    ['globalrole', 'global_role'],
    ['wrokspace', 'workspace'],
    ['clusters', 'cluster'],
  ])('%s → %s', (name, column) => {
    expect(suggestColumn(name)).toBe(column);
  });

  it.each(['team', 'role', 'user', 'phone'])('%s → nothing', (name) => {
    expect(suggestColumn(name)).toBeUndefined();
  });

  it('counts a transposition as one edit', () => {
    expect(editDistance('ab', 'ba')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
});
