/**
 * KubeSphere's whole state (the emulator's) against what a team-migration file asks: every user, workspace, project
 * and membership exactly once, nothing else, least-privilege roles, no DELETE or PATCH ever received. Shared by
 * `npm run bench` and `npm run drill`.
 */
import { SEEDED, type Row } from './deployment.js';

export interface EmulatorState {
  users: Record<string, { spec?: { email?: string } }>;
  workspaces: Record<string, unknown>;
  namespaces: Record<string, Record<string, { metadata: { labels?: Record<string, string> } }>>;
  workspaceRoleBindings: Record<string, { user: string; scope: string; role: string }>;
  roleBindings: Record<string, Record<string, Record<string, { user: string; role: string }>>>;
}

/** Everything KubeSphere holds besides its seeded accounts, one line per object (a duplicate is a second line). */
function holds(s: EmulatorState): string[] {
  const lines: string[] = [];
  for (const [name, user] of Object.entries(s.users))
    if (!SEEDED.includes(name)) lines.push(`user ${name} ${user.spec?.email ?? ''}`);
  for (const name of Object.keys(s.workspaces)) if (name !== 'system-workspace') lines.push(`workspace ${name}`);
  for (const [cluster, namespaces] of Object.entries(s.namespaces))
    for (const [name, ns] of Object.entries(namespaces)) {
      const workspace = ns.metadata.labels?.['kubesphere.io/workspace'];
      if (workspace && workspace !== 'system-workspace') lines.push(`project ${cluster}/${name} in ${workspace}`);
    }
  for (const b of Object.values(s.workspaceRoleBindings))
    if (!SEEDED.includes(b.user)) lines.push(`member ${b.scope} ${b.user}`);
  for (const [cluster, namespaces] of Object.entries(s.roleBindings))
    for (const [ns, bindings] of Object.entries(namespaces))
      for (const b of Object.values(bindings))
        if (!SEEDED.includes(b.user)) lines.push(`member ${cluster}/${ns} ${b.user}`);
  return lines;
}

function wanted(rows: Row[]): string[] {
  const lines = new Set<string>();
  for (const r of rows) {
    lines.add(`user ${r.username} ${r.email}`);
    lines.add(`workspace ${r.workspace}`);
    lines.add(`project host/${r.project} in ${r.workspace}`);
    lines.add(`member ${r.workspace} ${r.username}`);
    lines.add(`member host/${r.project} ${r.username}`);
  }
  return [...lines];
}

/** Missing, extra and duplicate objects, by line; and whether the roles are the least-privilege defaults. */
export async function endStateDiscrepancies(
  url: string,
  rows: Row[],
): Promise<{ verified: number; discrepancies: string[] }> {
  const state = (await (await fetch(`${url}/_emulator/state`)).json()) as EmulatorState;
  const requests = (await (await fetch(`${url}/_emulator/requests`)).json()) as {
    byMethod: Record<string, number>;
  };
  const have = holds(state);
  const want = wanted(rows);
  const count = new Map<string, number>();
  for (const line of have) count.set(line, (count.get(line) ?? 0) + 1);
  const discrepancies = [
    ...want.filter((line) => !count.has(line)).map((line) => `missing: ${line}`),
    ...[...count].filter(([line]) => !want.includes(line)).map(([line]) => `extra: ${line}`),
    ...[...count].filter(([, n]) => n > 1).map(([line, n]) => `${n} times: ${line}`),
    ...Object.values(state.workspaceRoleBindings)
      .filter((b) => !SEEDED.includes(b.user) && b.role !== `${b.scope}-regular`)
      .map((b) => `role: ${b.user} is ${b.role} in ${b.scope}`),
    ...Object.entries(state.roleBindings).flatMap(([cluster, namespaces]) =>
      Object.entries(namespaces).flatMap(([ns, bindings]) =>
        Object.values(bindings)
          .filter((b) => !SEEDED.includes(b.user) && b.role !== 'viewer')
          .map((b) => `role: ${b.user} is ${b.role} in ${cluster}/${ns}`),
      ),
    ),
    ...['DELETE', 'PATCH'].filter((m) => requests.byMethod[m]).map((m) => `${requests.byMethod[m]} ${m} sent`),
  ];
  return { verified: want.length, discrepancies };
}
