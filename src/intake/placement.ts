import { z } from 'zod';
import { ALWAYS_PROTECTED_WORKSPACES } from '../policy/worker-policy.js';
import { checkClusterName, checkProjectName, checkWorkspaceName, quote, type Problem } from '../policy/names.js';
import { planOnboarding, projectTarget, type OnboardRequest } from '../policy/plan.js';
import {
  DEFAULT_ROLES,
  parseProjectRole,
  parseWorkspaceRole,
  type GlobalRole,
  type ProjectRole,
  type WorkspaceRoleSuffix,
} from '../policy/roles.js';
import type { HireEvent } from './hire-event.js';

/**
 * Where a hire lands in KubeSphere, decided from what HR says (department, team) by a mapping an operator
 * writes and reviews. Pure: read by the intake (to answer 422 at once) and by the workers (which decide).
 *
 * Names are matched exactly as HR sends them, after trimming: "Engineering" and "engineering" are two
 * names. Guessing (case folding, fuzzy matching) would place someone by a rule nobody wrote down, so the
 * file is refused instead when two of its keys differ only by case or surrounding spaces.
 */

/** As long as a hire event's department or team may be: a longer key could never match. */
const MAX_NAME = 128;

export interface DepartmentPlacement {
  workspace: string;
  workspaceRole: WorkspaceRoleSuffix;
}

export interface TeamPlacement {
  /** the department the team belongs to, when the file says so (checked against its workspace) */
  department?: string;
  workspace: string;
  project: string;
  projectRole: ProjectRole;
  /** the team's cluster, else the file's default; absent: the host cluster */
  cluster?: string;
}

/** A checked mapping: keys trimmed, roles as built-in suffixes with least-privilege defaults applied. */
export interface PlacementMapping {
  departments: Record<string, DepartmentPlacement>;
  teams: Record<string, TeamPlacement>;
  /** the default cluster: of teams that name none, and of an explicit project on an event */
  cluster?: string;
}

const text = () =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be text') })
    .min(1, 'must not be empty');

const DEPARTMENT_FIELDS = ['workspace', 'workspaceRole'] as const;
const TEAM_FIELDS = ['department', 'workspace', 'project', 'projectRole', 'cluster'] as const;
const TOP_FIELDS = ['departments', 'teams', 'cluster'] as const;

type Ctx = z.RefinementCtx;

/** A workspace nobody is placed in (the worker would refuse every hire there): refused when the file is read. */
function protectedWorkspace(workspace: string): Problem[] {
  return ALWAYS_PROTECTED_WORKSPACES.includes(workspace)
    ? [{ field: 'workspace', message: `${quote(workspace)} is protected: nobody is placed in it by ks-onboard` }]
    : [];
}

function report(ctx: Ctx, problems: Problem[], at: PropertyKey[] = []): void {
  for (const problem of problems)
    ctx.addIssue({ code: 'custom', path: [...at, problem.field], message: problem.message });
}

const departmentSchema = z
  .strictObject({ workspace: text(), workspaceRole: text().optional() })
  .superRefine((department, ctx) => {
    report(ctx, checkWorkspaceName(department.workspace, 'workspace'));
    report(ctx, protectedWorkspace(department.workspace));
    const role = parseWorkspaceRole(department.workspace, department.workspaceRole ?? DEFAULT_ROLES.workspace);
    if (!role.ok) ctx.addIssue({ code: 'custom', path: ['workspaceRole'], message: role.reason });
  });

const teamSchema = z
  .strictObject({
    department: text().optional(),
    workspace: text(),
    project: text(),
    projectRole: text().optional(),
    cluster: text().optional(),
  })
  .superRefine((team, ctx) => {
    report(ctx, checkWorkspaceName(team.workspace, 'workspace'));
    report(ctx, protectedWorkspace(team.workspace));
    report(ctx, checkProjectName(team.project, 'project'));
    const role = parseProjectRole(team.projectRole ?? DEFAULT_ROLES.project);
    if (!role.ok) ctx.addIssue({ code: 'custom', path: ['projectRole'], message: role.reason });
    if (team.cluster !== undefined) report(ctx, checkClusterName(team.cluster, 'cluster'));
  });

const recordOf = <T extends z.ZodType>(entry: T, what: string) =>
  z.record(z.string(), entry, { error: `must be a mapping of ${what} names to their placement` });

/**
 * zod's records silently drop a `__proto__` key (JSON.parse and the yaml package keep it as an own key): a
 * department that vanishes without a word is worse than a refusal.
 */
function refuseProtoKeys(value: unknown, at: PropertyKey[], ctx: Ctx, depth = 0): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || depth > 3) return;
  for (const key of Object.keys(value)) {
    if (key === '__proto__') ctx.addIssue({ code: 'custom', path: [...at, key], message: 'is not a usable name' });
    else refuseProtoKeys((value as Record<string, unknown>)[key], [...at, key], ctx, depth + 1);
  }
}

/** Keys trimmed, each once: two keys equal after trimming, or differing only by case, are refused. */
function checkKeys(record: Record<string, unknown>, at: string, ctx: Ctx): void {
  const seen = new Map<string, string>();
  for (const key of Object.keys(record)) {
    const name = key.trim();
    if (name === '') {
      ctx.addIssue({ code: 'custom', path: [at, key], message: 'a name must not be empty' });
      continue;
    }
    if (name.length > MAX_NAME)
      ctx.addIssue({
        code: 'custom',
        path: [at, key],
        message: `must be at most ${MAX_NAME} characters (got ${name.length}), as HR names are`,
      });
    const folded = name.toLowerCase();
    const earlier = seen.get(folded);
    if (earlier !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: [at, key],
        message: `differs from ${quote(earlier)} only by case or surrounding spaces: names are matched exactly, keep one`,
      });
    else seen.set(folded, key);
  }
}

const mappingFields = z.strictObject(
  {
    departments: recordOf(departmentSchema, 'department'),
    teams: recordOf(teamSchema, 'team').optional(),
    cluster: text().optional(),
  },
  { error: 'must be a mapping with departments (and optionally teams and cluster)' },
);

function trimmedKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key.trim(), value]));
}

/**
 * The placement mapping file's schema. Unknown fields are refused (a misspelt `projectrole` would otherwise
 * fall back to a default silently); roles are built-in only, least privilege by default.
 */
export const placementMappingSchema = z.preprocess(
  (raw, ctx) => {
    refuseProtoKeys(raw, [], ctx);
    return raw;
  },
  mappingFields
    .superRefine((raw, ctx) => {
      checkKeys(raw.departments, 'departments', ctx);
      checkKeys(raw.teams ?? {}, 'teams', ctx);
      if (Object.keys(raw.departments).length === 0)
        ctx.addIssue({ code: 'custom', path: ['departments'], message: 'must name at least one department' });
      if (raw.cluster !== undefined) report(ctx, checkClusterName(raw.cluster, 'cluster'));

      const departments = trimmedKeys(raw.departments);
      const workspaces = new Set(Object.values(departments).map((d) => d.workspace));
      // A project lives in one workspace: two teams may share it only within the same workspace.
      const projects = new Map<string, { team: string; workspace: string }>();
      for (const [key, team] of Object.entries(raw.teams ?? {})) {
        const at = ['teams', key];
        if (team.department !== undefined) {
          const name = team.department.trim();
          const department = Object.hasOwn(departments, name) ? departments[name] : undefined;
          if (department === undefined)
            ctx.addIssue({
              code: 'custom',
              path: [...at, 'department'],
              message: `${quote(name)} is not one of the departments`,
            });
          else if (department.workspace !== team.workspace)
            ctx.addIssue({
              code: 'custom',
              path: [...at, 'workspace'],
              message: `${quote(team.workspace)} contradicts its department ${quote(name)}, placed in workspace ${quote(department.workspace)}`,
            });
        } else if (!workspaces.has(team.workspace)) {
          // Every hire's team must be in their department's workspace: this team could never be used.
          ctx.addIssue({
            code: 'custom',
            path: [...at, 'workspace'],
            message: `${quote(team.workspace)} is the workspace of no department, so no hire could be placed in this team`,
          });
        }
        const target = projectTarget(team.cluster ?? raw.cluster, team.project);
        const other = projects.get(target);
        if (other === undefined) projects.set(target, { team: key.trim(), workspace: team.workspace });
        else if (other.workspace !== team.workspace)
          ctx.addIssue({
            code: 'custom',
            path: [...at, 'project'],
            message: `${quote(target)} is also team ${quote(other.team)}'s project, in workspace ${quote(other.workspace)}: a project lives in one workspace`,
          });
      }
    })
    .transform((raw): PlacementMapping => {
      // Roles were refused above unless built in: the defaults below are never reached with a bad role.
      const departments = Object.fromEntries(
        Object.entries(trimmedKeys(raw.departments)).map(([name, d]): [string, DepartmentPlacement] => {
          const role = parseWorkspaceRole(d.workspace, d.workspaceRole ?? DEFAULT_ROLES.workspace);
          return [name, { workspace: d.workspace, workspaceRole: role.ok ? role.role : DEFAULT_ROLES.workspace }];
        }),
      );
      const teams = Object.fromEntries(
        Object.entries(trimmedKeys(raw.teams ?? {})).map(([name, t]): [string, TeamPlacement] => {
          const role = parseProjectRole(t.projectRole ?? DEFAULT_ROLES.project);
          const cluster = t.cluster ?? raw.cluster;
          return [
            name,
            {
              ...(t.department !== undefined ? { department: t.department.trim() } : {}),
              workspace: t.workspace,
              project: t.project,
              projectRole: role.ok ? role.role : DEFAULT_ROLES.project,
              ...(cluster !== undefined ? { cluster } : {}),
            },
          ];
        }),
      );
      return { departments, teams, ...(raw.cluster !== undefined ? { cluster: raw.cluster } : {}) };
    }),
);

export interface MappingProblem {
  /** where in the file: `teams.payments.projectRole`; a name that is not a plain word is quoted; '' is the whole file */
  path: string;
  message: string;
}

export type MappingResult = { ok: true; mapping: PlacementMapping } | { ok: false; problems: MappingProblem[] };

/** `teams."Payments API".projectRole`: plain keys bare, others quoted so that dots and spaces stay readable. */
export function formatMappingPath(path: readonly PropertyKey[]): string {
  return path
    .map((segment) => {
      const key = String(segment);
      return /^[A-Za-z0-9_-]+$/.test(key) ? key : quote(key);
    })
    .join('.');
}

function knownFields(path: readonly PropertyKey[]): readonly string[] {
  if (path.length === 0) return TOP_FIELDS;
  return path[0] === 'teams' ? TEAM_FIELDS : DEPARTMENT_FIELDS;
}

/** Checks a parsed mapping file (YAML or JSON, already parsed); every problem names where it is. */
export function checkPlacementMapping(raw: unknown): MappingResult {
  const result = placementMappingSchema.safeParse(raw);
  if (result.success) return { ok: true, mapping: result.data };
  const problems: MappingProblem[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownFields(issue.path).join(', ');
      for (const key of issue.keys)
        problems.push({
          path: formatMappingPath([...issue.path, key]),
          message: `is not a known field (known: ${known})`,
        });
    } else problems.push({ path: formatMappingPath(issue.path), message: issue.message });
  }
  return { ok: false, problems };
}

// ---- placing a hire ------------------------------------------------------------------------------

export type PlaceResult = { ok: true; request: OnboardRequest } | { ok: false; status: 422; problems: Problem[] };

/** HR never decides anyone's platform role: every hire is a regular platform user. */
const HIRE_GLOBAL_ROLE: GlobalRole = 'platform-regular';

type PlacementRequestFields = Pick<
  OnboardRequest,
  'workspace' | 'workspaceRole' | 'createWorkspace' | 'project' | 'projectRole' | 'createProject' | 'cluster'
>;
type Placed = { ok: true; fields: PlacementRequestFields } | { ok: false; problems: Problem[] };

function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** `department "sales" is not in the placement mapping (it has "Sales": names are case-sensitive)` */
function notMapped(kind: 'department' | 'team', name: string, record: Record<string, unknown>): Problem {
  const near = Object.keys(record).find((key) => key.toLowerCase() === name.toLowerCase());
  const hint = near === undefined ? '' : ` (it has ${quote(near)}: names are case-sensitive)`;
  return { field: kind, message: `${kind} ${quote(name)} is not in the placement mapping${hint}` };
}

/**
 * An explicit target (generic format only) replaces the mapping. It is not reviewed like the mapping is, so
 * it gets the least that works: the lowest roles that let someone work, and nothing is created — a typo in
 * a webhook body must not create a workspace or project, it must fail on the missing one.
 */
function explicitPlacement(mapping: PlacementMapping, event: HireEvent): Placed {
  if (event.workspace === undefined)
    return {
      ok: false,
      problems: [
        {
          field: 'workspace',
          message:
            'is required with project: a project lives in a workspace (give both, or neither to use the placement mapping)',
        },
      ],
    };
  return {
    ok: true,
    fields: {
      workspace: event.workspace,
      workspaceRole: DEFAULT_ROLES.workspace,
      createWorkspace: false,
      ...(event.project !== undefined
        ? {
            project: event.project,
            projectRole: DEFAULT_ROLES.project,
            createProject: false,
            ...(mapping.cluster !== undefined ? { cluster: mapping.cluster } : {}),
          }
        : {}),
    },
  };
}

function mappedPlacement(mapping: PlacementMapping, event: HireEvent): Placed {
  const department = own(mapping.departments, event.department);
  if (department === undefined)
    return { ok: false, problems: [notMapped('department', event.department, mapping.departments)] };
  const workspace = { workspace: department.workspace, workspaceRole: department.workspaceRole };
  if (event.team === undefined) return { ok: true, fields: workspace };

  // An unknown team is refused rather than dropped: a hire without their project is a partial onboarding
  // that nobody would notice until the person cannot work.
  const team = own(mapping.teams, event.team);
  if (team === undefined) return { ok: false, problems: [notMapped('team', event.team, mapping.teams)] };
  if (team.department !== undefined && team.department !== event.department)
    return {
      ok: false,
      problems: [
        {
          field: 'team',
          message: `team ${quote(event.team)} belongs to department ${quote(team.department)} in the placement mapping, not to ${quote(event.department)}`,
        },
      ],
    };
  if (team.workspace !== department.workspace)
    return {
      ok: false,
      problems: [
        {
          field: 'team',
          message: `team ${quote(event.team)} is in workspace ${quote(team.workspace)}, but department ${quote(event.department)} is placed in workspace ${quote(department.workspace)}: a hire's team must be in their department's workspace`,
        },
      ],
    };
  return {
    ok: true,
    fields: {
      ...workspace,
      project: team.project,
      projectRole: team.projectRole,
      ...(team.cluster !== undefined ? { cluster: team.cluster } : {}),
    },
  };
}

/**
 * The onboarding request for a hire: department → workspace, team → project in it; or the event's explicit
 * workspace/project. Checked with planOnboarding, so a request returned here is one the workflow accepts.
 */
export function placeHire(mapping: PlacementMapping, event: HireEvent, username: string): PlaceResult {
  const placed =
    event.workspace !== undefined || event.project !== undefined
      ? explicitPlacement(mapping, event)
      : mappedPlacement(mapping, event);
  if (!placed.ok) return { ok: false, status: 422, problems: placed.problems };
  const request: OnboardRequest = { username, email: event.email, globalRole: HIRE_GLOBAL_ROLE, ...placed.fields };
  const plan = planOnboarding(request);
  if (!plan.ok) return { ok: false, status: 422, problems: plan.problems };
  return { ok: true, request };
}
