import { describe, expect, it } from 'vitest';
import { planOnboarding } from '../policy/plan.js';
import { onboardUserInputSchema } from '../policy/requests.js';
import type { HireEvent } from './hire-event.js';
import { checkPlacementMapping, formatMappingPath, placeHire, type PlacementMapping } from './placement.js';

const raw = () => ({
  departments: {
    Payments: { workspace: 'payments' },
    'Payments Ops': { workspace: 'payments', workspaceRole: 'viewer' },
    Search: { workspace: 'search', workspaceRole: 'search-admin' },
  },
  teams: {
    'Payments API': { department: 'Payments', workspace: 'payments', project: 'payments-api', projectRole: 'operator' },
    Ledger: { workspace: 'payments', project: 'ledger', cluster: 'member-1' },
    'Search UI': { workspace: 'search', project: 'search-ui' },
  } as Record<string, Record<string, unknown>>,
  cluster: 'host',
});

function mapping(input: unknown = raw()): PlacementMapping {
  const checked = checkPlacementMapping(input);
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return checked.mapping;
}

function problemsOf(input: unknown) {
  const checked = checkPlacementMapping(input);
  expect(checked.ok).toBe(false);
  return checked.ok ? [] : checked.problems;
}

/** `raw()` with `edit` applied to a deep copy. */
function edited(edit: (m: ReturnType<typeof raw> & Record<string, unknown>) => void): unknown {
  const copy = structuredClone(raw()) as ReturnType<typeof raw> & Record<string, unknown>;
  edit(copy);
  return copy;
}

describe('checkPlacementMapping', () => {
  it('accepts a valid mapping, applying least-privilege defaults and the default cluster', () => {
    expect(mapping()).toEqual({
      departments: {
        Payments: { workspace: 'payments', workspaceRole: 'regular' },
        'Payments Ops': { workspace: 'payments', workspaceRole: 'viewer' },
        Search: { workspace: 'search', workspaceRole: 'admin' },
      },
      teams: {
        'Payments API': {
          department: 'Payments',
          workspace: 'payments',
          project: 'payments-api',
          projectRole: 'operator',
          cluster: 'host',
        },
        Ledger: { workspace: 'payments', project: 'ledger', projectRole: 'viewer', cluster: 'member-1' },
        'Search UI': { workspace: 'search', project: 'search-ui', projectRole: 'viewer', cluster: 'host' },
      },
      cluster: 'host',
    });
  });

  it('accepts a mapping without teams or cluster, and trims names', () => {
    expect(mapping({ departments: { '  Sales ': { workspace: 'sales' } } })).toEqual({
      departments: { Sales: { workspace: 'sales', workspaceRole: 'regular' } },
      teams: {},
    });
  });

  it.each([
    [
      'a workspace role that is not built in',
      (m: ReturnType<typeof raw>) => ((m.departments.Payments as Record<string, string>).workspaceRole = 'owner'),
      'departments.Payments.workspaceRole',
      '"owner" is not a built-in role of workspace payments',
    ],
    [
      'a custom workspace role',
      (m: ReturnType<typeof raw>) =>
        ((m.departments.Payments as Record<string, string>).workspaceRole = 'payments-deployer'),
      'departments.Payments.workspaceRole',
      '"payments-deployer" is not a built-in role',
    ],
    [
      "another workspace's role",
      (m: ReturnType<typeof raw>) =>
        ((m.departments.Search as Record<string, string>).workspaceRole = 'payments-admin'),
      'departments.Search.workspaceRole',
      '"payments-admin" is not a built-in role of workspace search',
    ],
    [
      'a custom project role',
      (m: ReturnType<typeof raw>) => (m.teams['Payments API']!.projectRole = 'deployer'),
      'teams."Payments API".projectRole',
      '"deployer" is not a built-in project role',
    ],
    [
      'a workspace name with capitals',
      (m: ReturnType<typeof raw>) => (m.departments.Payments.workspace = 'Payments'),
      'departments.Payments.workspace',
      '"Payments" must be lower-case',
    ],
    [
      'a project name starting with a digit',
      (m: ReturnType<typeof raw>) => (m.teams.Ledger!.project = '1ledger'),
      'teams.Ledger.project',
      '"1ledger" must start with a lower-case letter',
    ],
    [
      "a team's bad cluster",
      (m: ReturnType<typeof raw>) => (m.teams.Ledger!.cluster = 'Member_1'),
      'teams.Ledger.cluster',
      '"Member_1" is not a valid cluster name',
    ],
    [
      'a bad default cluster',
      (m: ReturnType<typeof raw>) => (m.cluster = 'Host'),
      'cluster',
      '"Host" is not a valid cluster name',
    ],
    [
      'a missing workspace',
      (m: ReturnType<typeof raw>) => delete (m.departments.Search as Partial<Record<string, string>>).workspace,
      'departments.Search.workspace',
      'is required',
    ],
    [
      'a workspace that is not text',
      (m: ReturnType<typeof raw>) => ((m.departments.Search as Record<string, unknown>).workspace = 42),
      'departments.Search.workspace',
      'must be text',
    ],
    [
      "a team whose workspace contradicts its department's",
      (m: ReturnType<typeof raw>) => (m.teams['Payments API']!.workspace = 'search'),
      'teams."Payments API".workspace',
      '"search" contradicts its department "Payments", placed in workspace "payments"',
    ],
    [
      'a team of an unknown department',
      (m: ReturnType<typeof raw>) => (m.teams['Payments API']!.department = 'Billing'),
      'teams."Payments API".department',
      '"Billing" is not one of the departments',
    ],
    [
      'a team in the workspace of no department',
      (m: ReturnType<typeof raw>) => (m.teams.Ledger!.workspace = 'ledgers'),
      'teams.Ledger.workspace',
      '"ledgers" is the workspace of no department',
    ],
    [
      'one project in two workspaces',
      (m: ReturnType<typeof raw>) => (m.teams['Search UI']!.project = 'payments-api'),
      'teams."Search UI".project',
      '"host/payments-api" is also team "Payments API"\'s project, in workspace "payments"',
    ],
    [
      'no department at all',
      (m: ReturnType<typeof raw>) => {
        m.departments = {} as never;
        m.teams = {};
      },
      'departments',
      'must name at least one department',
    ],
    [
      'departments that differ only by case',
      (m: ReturnType<typeof raw>) => ((m.departments as Record<string, unknown>).payments = { workspace: 'payments' }),
      'departments.payments',
      'differs from "Payments" only by case',
    ],
    [
      'departments that differ only by surrounding spaces',
      (m: ReturnType<typeof raw>) => ((m.departments as Record<string, unknown>)[' Search'] = { workspace: 'search' }),
      'departments." Search"',
      'differs from "Search" only by case or surrounding spaces',
    ],
    [
      'teams that differ only by case',
      (m: ReturnType<typeof raw>) => (m.teams.LEDGER = { workspace: 'payments', project: 'ledger' }),
      'teams.LEDGER',
      'differs from "Ledger" only by case',
    ],
    [
      'an empty name',
      (m: ReturnType<typeof raw>) => ((m.departments as Record<string, unknown>)['  '] = { workspace: 'search' }),
      'departments."  "',
      'a name must not be empty',
    ],
    [
      'a name longer than HR sends',
      (m: ReturnType<typeof raw>) =>
        ((m.departments as Record<string, unknown>)['x'.repeat(129)] = { workspace: 'search' }),
      `departments.${'x'.repeat(129)}`,
      'must be at most 128 characters',
    ],
    [
      'an unknown top-level field',
      (m: Record<string, unknown>) => (m.team = {}),
      'team',
      'is not a known field (known: departments, teams, cluster)',
    ],
    [
      'an unknown department field',
      (m: ReturnType<typeof raw>) => ((m.departments.Payments as Record<string, string>).role = 'admin'),
      'departments.Payments.role',
      'is not a known field (known: workspace, workspaceRole)',
    ],
    [
      'an unknown team field (a misspelt role)',
      (m: ReturnType<typeof raw>) => (m.teams.Ledger!.projectrole = 'admin'),
      'teams.Ledger.projectrole',
      'is not a known field (known: department, workspace, project, projectRole, cluster)',
    ],
  ])('refuses %s', (_name, edit, path, message) => {
    const problems = problemsOf(edited(edit as (m: ReturnType<typeof raw>) => void));
    expect(problems).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  it('reports every problem at once, each under its own path', () => {
    const problems = problemsOf({
      departments: { Payments: { workspace: 'Payments', workspaceRole: 'boss' } },
      teams: { Ledger: { workspace: 'payments', project: 'Ledger', projectRole: 'root', extra: 1 } },
    });
    expect(problems.map((p) => p.path).sort()).toEqual([
      'departments.Payments.workspace',
      'departments.Payments.workspaceRole',
      'teams.Ledger.extra',
      'teams.Ledger.project',
      'teams.Ledger.projectRole',
      // the team's "payments" is no department's workspace: the department's is "Payments"
      'teams.Ledger.workspace',
    ]);
  });

  it.each([null, [], 'departments', 42])('refuses %j as the whole file', (input) => {
    expect(problemsOf(input)).toEqual([{ path: '', message: expect.stringContaining('must be a mapping') }]);
  });

  it('refuses a __proto__ name rather than dropping it', () => {
    const input = JSON.parse(
      '{"departments": {"__proto__": {"workspace": "payments"}, "Search": {"workspace": "search"}}}',
    );
    expect(problemsOf(input)).toContainEqual({ path: 'departments.__proto__', message: 'is not a usable name' });
  });

  it('quotes path segments that are not plain words', () => {
    expect(formatMappingPath(['teams', 'payments', 'projectRole'])).toBe('teams.payments.projectRole');
    expect(formatMappingPath(['teams', 'R.&D', 'project'])).toBe('teams."R.&D".project');
  });
});

const event = (fields: Partial<HireEvent> = {}): HireEvent => ({
  eventId: 'evt-1',
  employeeId: 'E100',
  email: 'amara.okafor@example.com',
  firstName: 'Amara',
  lastName: 'Okafor',
  department: 'Payments',
  startDate: '2026-03-02',
  ...fields,
});

/** The request must be one the workflow takes: planOnboarding accepts it and so does the input schema. */
function expectAccepted(request: object) {
  const plan = planOnboarding(request as never);
  expect(plan.ok, JSON.stringify(plan)).toBe(true);
  const input = onboardUserInputSchema.safeParse({ ...request, source: { kind: 'requester', proof: 'ks-sealed:x' } });
  expect(input.success, JSON.stringify(input.error?.issues)).toBe(true);
  return plan.ok ? plan.plan : undefined;
}

describe('placeHire', () => {
  it("places a hire in their department's workspace and their team's project", () => {
    const placed = placeHire(mapping(), event({ team: 'Payments API' }), 'amara.okafor');
    expect(placed).toEqual({
      ok: true,
      request: {
        username: 'amara.okafor',
        email: 'amara.okafor@example.com',
        globalRole: 'platform-regular',
        workspace: 'payments',
        workspaceRole: 'regular',
        project: 'payments-api',
        projectRole: 'operator',
        cluster: 'host',
      },
    });
    const plan = expectAccepted(placed.ok ? placed.request : {});
    expect(plan?.grants).toEqual([
      { scope: 'platform', role: 'platform-regular', target: 'platform' },
      { scope: 'workspace', role: 'regular', target: 'payments', workspace: 'payments' },
      { scope: 'project', role: 'operator', target: 'host/payments-api', workspace: 'payments' },
    ]);
  });

  it("uses the team's own cluster", () => {
    const placed = placeHire(mapping(), event({ team: 'Ledger' }), 'amara.okafor');
    expect(placed.ok && placed.request).toMatchObject({
      project: 'ledger',
      projectRole: 'viewer',
      cluster: 'member-1',
    });
    expectAccepted(placed.ok ? placed.request : {});
  });

  it('gives a hire without a team only the workspace, with the role of their department', () => {
    const placed = placeHire(mapping(), event({ department: 'Payments Ops' }), 'amara.okafor');
    expect(placed).toEqual({
      ok: true,
      request: {
        username: 'amara.okafor',
        email: 'amara.okafor@example.com',
        globalRole: 'platform-regular',
        workspace: 'payments',
        workspaceRole: 'viewer',
      },
    });
    const plan = expectAccepted(placed.ok ? placed.request : {});
    expect(plan?.projects).toEqual([]);
  });

  it('takes an explicit workspace and project with least privilege, creating nothing', () => {
    const placed = placeHire(
      mapping(),
      event({ department: 'Unknown', team: 'Unknown', workspace: 'platform-tools', project: 'docs' }),
      'amara.okafor',
    );
    expect(placed).toEqual({
      ok: true,
      request: {
        username: 'amara.okafor',
        email: 'amara.okafor@example.com',
        globalRole: 'platform-regular',
        workspace: 'platform-tools',
        workspaceRole: 'regular',
        createWorkspace: false,
        project: 'docs',
        projectRole: 'viewer',
        createProject: false,
        cluster: 'host',
      },
    });
    const plan = expectAccepted(placed.ok ? placed.request : {});
    expect(plan?.workspaces.map((w) => w.create)).toEqual([false]);
    expect(plan?.projects.map((p) => p.create)).toEqual([false]);
  });

  it('takes an explicit workspace alone', () => {
    const placed = placeHire(mapping(), event({ workspace: 'payments' }), 'amara.okafor');
    expect(placed.ok && placed.request).toEqual({
      username: 'amara.okafor',
      email: 'amara.okafor@example.com',
      globalRole: 'platform-regular',
      workspace: 'payments',
      workspaceRole: 'regular',
      createWorkspace: false,
    });
    expectAccepted(placed.ok ? placed.request : {});
  });

  it('refuses an explicit project without a workspace', () => {
    expect(placeHire(mapping(), event({ project: 'docs' }), 'amara.okafor')).toEqual({
      ok: false,
      status: 422,
      problems: [{ field: 'workspace', message: expect.stringContaining('is required with project') }],
    });
  });

  it('refuses an explicit workspace that is not a valid name', () => {
    expect(placeHire(mapping(), event({ workspace: 'Platform Tools' }), 'amara.okafor')).toEqual({
      ok: false,
      status: 422,
      problems: [{ field: 'workspace', message: expect.stringContaining('"Platform Tools" must be lower-case') }],
    });
  });

  it('refuses an unknown department, naming it', () => {
    expect(placeHire(mapping(), event({ department: 'Sales' }), 'amara.okafor')).toEqual({
      ok: false,
      status: 422,
      problems: [{ field: 'department', message: 'department "Sales" is not in the placement mapping' }],
    });
  });

  it('says when a department differs only by case', () => {
    const placed = placeHire(mapping(), event({ department: 'payments' }), 'amara.okafor');
    expect(placed.ok ? [] : placed.problems).toEqual([
      {
        field: 'department',
        message: 'department "payments" is not in the placement mapping (it has "Payments": names are case-sensitive)',
      },
    ]);
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'never takes %s from the object prototype as a department or team',
    (name) => {
      expect(placeHire(mapping(), event({ department: name }), 'amara.okafor')).toMatchObject({
        ok: false,
        status: 422,
      });
      expect(placeHire(mapping(), event({ team: name }), 'amara.okafor')).toMatchObject({ ok: false, status: 422 });
    },
  );

  it('refuses an unknown team rather than placing the hire in the workspace alone', () => {
    expect(placeHire(mapping(), event({ team: 'Checkout' }), 'amara.okafor')).toEqual({
      ok: false,
      status: 422,
      problems: [{ field: 'team', message: 'team "Checkout" is not in the placement mapping' }],
    });
  });

  it("refuses a team outside the department's workspace, naming both", () => {
    expect(placeHire(mapping(), event({ department: 'Search', team: 'Ledger' }), 'amara.okafor')).toEqual({
      ok: false,
      status: 422,
      problems: [
        {
          field: 'team',
          message:
            'team "Ledger" is in workspace "payments", but department "Search" is placed in workspace "search": a hire\'s team must be in their department\'s workspace',
        },
      ],
    });
  });

  it('refuses a team the mapping gives to another department, even in the same workspace', () => {
    expect(placeHire(mapping(), event({ department: 'Payments Ops', team: 'Payments API' }), 'amara.okafor')).toEqual({
      ok: false,
      status: 422,
      problems: [
        {
          field: 'team',
          message:
            'team "Payments API" belongs to department "Payments" in the placement mapping, not to "Payments Ops"',
        },
      ],
    });
  });

  it('places a team without a declared department for any department of its workspace', () => {
    const placed = placeHire(mapping(), event({ department: 'Payments Ops', team: 'Ledger' }), 'amara.okafor');
    expect(placed.ok && placed.request).toMatchObject({
      workspace: 'payments',
      workspaceRole: 'viewer',
      project: 'ledger',
    });
  });

  it('refuses what planOnboarding refuses (a bad username or email)', () => {
    const placed = placeHire(mapping(), event({ email: 'not-an-email' }), 'Amara');
    expect(placed.ok ? [] : placed.problems.map((p) => p.field).sort()).toEqual(['email', 'username']);
  });
});

describe('protected workspaces in the mapping', () => {
  it('refuses system-workspace when the file is read', () => {
    const checked = checkPlacementMapping({
      departments: { Ops: { workspace: 'system-workspace' } },
      teams: { Infra: { workspace: 'system-workspace', project: 'infra' } },
    });
    expect(checked.ok).toBe(false);
    if (!checked.ok)
      expect(checked.problems).toEqual(
        expect.arrayContaining([
          {
            path: 'departments.Ops.workspace',
            message: '"system-workspace" is protected: nobody is placed in it by ks-onboard',
          },
          {
            path: 'teams.Infra.workspace',
            message: '"system-workspace" is protected: nobody is placed in it by ks-onboard',
          },
        ]),
      );
  });
});
