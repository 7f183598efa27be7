import type { BatchPerson } from '../../src/policy/batch.js';
import type { EmulatorHarness } from './emulator.js';

/**
 * What KubeSphere holds for people other than the seeded accounts, as sorted lines:
 * `user <name> <email> <global role>`, `workspace <name>`, `project <cluster>/<name> in <workspace>`,
 * `member <workspace> <user> <role>`, `member <cluster>/<project> <user> <role>`.
 */
export function peopleState(h: EmulatorHarness, seeded = ['admin', 'ops-admin', 'carol']): string[] {
  const s = h.emulator.snapshot();
  const lines: string[] = [];
  for (const [name, user] of Object.entries(s.users)) {
    if (seeded.includes(name)) continue;
    const u = user as { spec?: { email?: string }; metadata: { annotations?: Record<string, string> } };
    lines.push(`user ${name} ${u.spec?.email ?? ''} ${u.metadata.annotations?.['iam.kubesphere.io/globalrole'] ?? ''}`);
  }
  for (const name of Object.keys(s.workspaces)) if (name !== 'system-workspace') lines.push(`workspace ${name}`);
  for (const [cluster, namespaces] of Object.entries(s.namespaces))
    for (const [name, ns] of Object.entries(namespaces)) {
      const workspace = ns.metadata.labels?.['kubesphere.io/workspace'];
      if (workspace && workspace !== 'system-workspace') lines.push(`project ${cluster}/${name} in ${workspace}`);
    }
  for (const b of Object.values(s.workspaceRoleBindings))
    if (!seeded.includes(b.user)) lines.push(`member ${b.scope} ${b.user} ${b.role}`);
  for (const [cluster, namespaces] of Object.entries(s.roleBindings))
    for (const [ns, bindings] of Object.entries(namespaces))
      for (const b of Object.values(bindings))
        if (!seeded.includes(b.user)) lines.push(`member ${cluster}/${ns} ${b.user} ${b.role}`);
  return lines.sort();
}

/** What KubeSphere must hold after these people are onboarded (host cluster, default roles), in peopleState's form. */
export function expectedPeopleState(people: BatchPerson[]): string[] {
  const lines = new Set<string>();
  for (const p of people) {
    lines.add(`user ${p.username} ${p.email} platform-regular`);
    for (const pl of p.placements) {
      lines.add(`workspace ${pl.workspace}`);
      lines.add(`member ${pl.workspace} ${p.username} ${pl.workspace}-${pl.workspaceRole ?? 'regular'}`);
      if (pl.project) {
        lines.add(`project host/${pl.project} in ${pl.workspace}`);
        lines.add(`member host/${pl.project} ${p.username} ${pl.projectRole ?? 'viewer'}`);
      }
    }
  }
  return [...lines].sort();
}
