import type { EmulatorSnapshot } from './server.js';

/**
 * What KubeSphere holds for people other than the `seeded` accounts, as sorted lines, one per object (a duplicate
 * is a second line): `user <name> <email> <global role>`, `workspace <name>`,
 * `project <cluster>/<name> in <workspace>`, `member <workspace> <user> <role>`,
 * `member <cluster>/<project> <user> <role>`. The form the tests and the drills compare end states in.
 */
export function peopleHoldings(s: EmulatorSnapshot, seeded: readonly string[]): string[] {
  const lines: string[] = [];
  for (const [name, user] of Object.entries(s.users)) {
    if (seeded.includes(name)) continue;
    lines.push(`user ${name} ${user.spec.email} ${user.metadata.annotations?.['iam.kubesphere.io/globalrole'] ?? ''}`);
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
