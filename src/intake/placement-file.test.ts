import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../config.js';
import { loadPlacementMapping, MAX_PLACEMENT_FILE_BYTES } from './placement-file.js';
import { placeHire } from './placement.js';

const dir = mkdtempSync(join(tmpdir(), 'ks-placement-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(name: string, content: string | Buffer): string {
  const path = join(dir, `${files++}-${name}`);
  writeFileSync(path, content);
  return path;
}

/** The ConfigError's message, or a failure when none is thrown. */
function refusal(path: string, source?: string): string {
  try {
    loadPlacementMapping(path, source);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`${path} was accepted`);
}

const YAML = `# a comment
cluster: host
departments:
  Payments:
    workspace: payments
    workspaceRole: payments-regular
  Search:
    workspace: search
teams:
  Payments API:
    department: Payments
    workspace: payments
    project: payments-api
    projectRole: operator
`;

const EXPECTED = {
  departments: {
    Payments: { workspace: 'payments', workspaceRole: 'regular' },
    Search: { workspace: 'search', workspaceRole: 'regular' },
  },
  teams: {
    'Payments API': {
      department: 'Payments',
      workspace: 'payments',
      project: 'payments-api',
      projectRole: 'operator',
      cluster: 'host',
    },
  },
  cluster: 'host',
};

const JSON_TEXT = JSON.stringify(
  {
    cluster: 'host',
    departments: {
      Payments: { workspace: 'payments', workspaceRole: 'payments-regular' },
      Search: { workspace: 'search' },
    },
    teams: {
      'Payments API': {
        department: 'Payments',
        workspace: 'payments',
        project: 'payments-api',
        projectRole: 'operator',
      },
    },
  },
  null,
  2,
);

describe('loadPlacementMapping', () => {
  it.each(['placement.yaml', 'placement.yml', 'PLACEMENT.YAML'])('reads YAML (%s)', (name) => {
    expect(loadPlacementMapping(file(name, YAML))).toEqual(EXPECTED);
  });

  it('reads JSON', () => {
    expect(loadPlacementMapping(file('placement.json', JSON_TEXT))).toEqual(EXPECTED);
  });

  it('reads JSON with a byte order mark', () => {
    expect(loadPlacementMapping(file('placement.json', `\uFEFF${JSON_TEXT}`))).toEqual(EXPECTED);
  });

  it('names the variable, the file, the path in it and the problem', () => {
    const path = file(
      'placement.yaml',
      YAML.replace('    workspace: payments\n    project', '    workspace: Payments\n    project'),
    );
    expect(refusal(path)).toBe(
      `KS_ONBOARD_PLACEMENT (${path}): teams."Payments API".workspace: "Payments" must be lower-case letters, digits or "-", starting and ending with a letter or digit; ` +
        'teams."Payments API".workspace: "Payments" contradicts its department "Payments", placed in workspace "payments"',
    );
  });

  it('names the source it is given', () => {
    const path = file('placement.yaml', 'departments: {}\n');
    expect(refusal(path, '--placement')).toBe(`--placement (${path}): departments: must name at least one department`);
  });

  it('refuses unknown fields', () => {
    const path = file('placement.yaml', YAML.replace('    projectRole: operator', '    projectrole: operator'));
    expect(refusal(path)).toContain('teams."Payments API".projectrole: is not a known field');
  });

  it('reports a JSON syntax error with its line and column', () => {
    const path = file(
      'placement.json',
      '{\n  "departments": {\n    "Payments": { "workspace": "payments" }\n    "Search": { "workspace": "search" }\n  }\n}\n',
    );
    expect(refusal(path)).toBe(
      `KS_ONBOARD_PLACEMENT (${path}): line 4, column 5: Expected ',' or '}' after property value`,
    );
  });

  it('refuses what JSON does not allow, even where YAML would (a trailing comma)', () => {
    const path = file('placement.json', '{\n  "departments": {\n    "Search": { "workspace": "search" },\n  }\n}\n');
    expect(refusal(path)).toMatch(/: line 4, column 3: /);
  });

  it('refuses a JSON file that ends too early', () => {
    const path = file('placement.json', '{\n  "departments": {\n');
    expect(refusal(path)).toMatch(/: line 3, column 1: /);
  });

  it('refuses a duplicate key in JSON, naming its line', () => {
    const path = file(
      'placement.json',
      '{\n  "departments": {\n    "Search": { "workspace": "search" },\n    "Search": { "workspace": "payments" }\n  }\n}\n',
    );
    expect(refusal(path)).toBe(`KS_ONBOARD_PLACEMENT (${path}): line 4, column 5: Map keys must be unique`);
  });

  it('reports a YAML syntax error with its line', () => {
    const path = file(
      'placement.yaml',
      'departments:\n  Payments:\n    workspace: payments\n   workspaceRole: admin\n',
    );
    expect(refusal(path)).toBe(
      `KS_ONBOARD_PLACEMENT (${path}): line 4, column 1: All mapping items must start at the same column`,
    );
  });

  it('refuses a duplicate key in YAML, naming its line', () => {
    const path = file('placement.yaml', `${YAML}  Payments API:\n    workspace: search\n    project: search-ui\n`);
    expect(refusal(path)).toBe(`KS_ONBOARD_PLACEMENT (${path}): line 15, column 3: Map keys must be unique`);
  });

  it.each([
    [
      'an alias',
      'departments:\n  A: &a\n    workspace: payments\n  B: *a\n',
      'line 4, column 6: the alias *a is refused',
    ],
    [
      'a merge key',
      'departments:\n  A: &a\n    workspace: payments\n  B:\n    <<: *a\n',
      'line 5, column 9: the alias *a is refused (and so are merge keys)',
    ],
    [
      'an explicit tag',
      'departments:\n  A:\n    workspace: !!str payments\n',
      'line 3, column 22: the explicit tag tag:yaml.org,2002:str is refused',
    ],
    [
      'a key that is not text',
      'departments:\n  1.10:\n    workspace: payments\n',
      'line 2, column 3: the key 1.1 must be text: quote it',
    ],
    [
      'a collection as a key',
      'departments:\n  ? [a, b]\n  : workspace: payments\n',
      'line 2, column 5: a key must be text',
    ],
    [
      'several documents',
      'departments: {}\n---\ndepartments: {}\n',
      'line 2, column 1: Source contains multiple documents',
    ],
    [
      'an unknown tag',
      'departments:\n  A:\n    workspace: !secret payments\n',
      'line 3, column 16: Unresolved tag: !secret',
    ],
  ])('refuses %s in YAML', (_name, content, message) => {
    expect(refusal(file('placement.yaml', content))).toContain(message);
  });

  it('keeps YAML 1.2 scalars as text (no "no" → false)', () => {
    const mapping = loadPlacementMapping(file('placement.yaml', 'departments:\n  no:\n    workspace: "no"\n'));
    expect(mapping.departments).toEqual({ no: { workspace: 'no', workspaceRole: 'regular' } });
  });

  it('refuses an empty file', () => {
    expect(refusal(file('placement.yaml', '# nothing yet\n'))).toContain(
      ': is empty: expected a mapping with departments',
    );
  });

  it('refuses a file over 1 MiB', () => {
    const path = file('placement.yaml', `${YAML}${'#'.repeat(MAX_PLACEMENT_FILE_BYTES)}\n`);
    expect(refusal(path)).toMatch(/: is \d+ bytes, more than 1048576: not a placement mapping$/);
  });

  it.each(['placement.txt', 'placement.yaml.bak', 'placement', 'placement.toml'])(
    'refuses the extension of %s',
    (name) => {
      const path = file(name, YAML);
      expect(refusal(path)).toBe(`KS_ONBOARD_PLACEMENT (${path}): must be a .yaml, .yml or .json file`);
    },
  );

  it('refuses a missing file, a directory and a file that is not UTF-8', () => {
    const missing = join(dir, 'missing.yaml');
    expect(refusal(missing)).toBe(`KS_ONBOARD_PLACEMENT (${missing}): does not exist`);
    const directory = join(dir, 'directory.yaml');
    mkdirSync(directory);
    expect(refusal(directory)).toBe(`KS_ONBOARD_PLACEMENT (${directory}): is a directory`);
    const latin1 = file('placement.yaml', Buffer.from('departments:\n  R\xe9seau:\n    workspace: net\n', 'latin1'));
    expect(refusal(latin1)).toBe(`KS_ONBOARD_PLACEMENT (${latin1}): is not UTF-8 text`);
  });
});

describe('samples/placement.yaml', () => {
  const SAMPLE = fileURLToPath(new URL('../../samples/placement.yaml', import.meta.url));
  const CSV = fileURLToPath(new URL('../../samples/onboarding.csv', import.meta.url));

  it('loads, and places a hire of every team in its department', () => {
    const mapping = loadPlacementMapping(SAMPLE);
    expect(Object.keys(mapping.departments).length).toBeGreaterThanOrEqual(3);
    expect(Object.keys(mapping.teams).length).toBeGreaterThanOrEqual(3);
    for (const [team, placement] of Object.entries(mapping.teams)) {
      const department =
        placement.department ??
        Object.keys(mapping.departments).find((d) => mapping.departments[d]!.workspace === placement.workspace)!;
      const placed = placeHire(
        mapping,
        {
          eventId: 'e',
          employeeId: 'e',
          email: 'sam.wright@example.com',
          firstName: 'Sam',
          lastName: 'Wright',
          department,
          team,
          startDate: '2026-03-02',
        },
        'sam.wright',
      );
      expect(placed.ok, `${team}: ${JSON.stringify(placed)}`).toBe(true);
    }
  });

  it('uses the workspaces and projects of samples/onboarding.csv', () => {
    const mapping = loadPlacementMapping(SAMPLE);
    const rows = readFileSync(CSV, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(','));
    const pairs = new Set(rows.map((r) => `${r[4]}/${r[6]}`));
    const workspaces = new Set(rows.map((r) => r[4]));
    for (const d of Object.values(mapping.departments)) expect(workspaces).toContain(d.workspace);
    for (const t of Object.values(mapping.teams)) expect(pairs).toContain(`${t.workspace}/${t.project}`);
  });
});
