import type { KubeSphereClient } from '../kubesphere/client.js';
import { isKubeSphereError } from '../kubesphere/errors.js';
import { KEYS } from '../kubesphere/schemas.js';
import type { OnboardingPlan } from '../policy/plan.js';
import { projectTarget } from '../policy/plan.js';
import { mapFailures } from './to-failure.js';

/** What a dry run found for one person: what the onboarding would do, step by step. Reads only. */
export interface Inspection {
  username: string;
  user: 'create' | 'exists' | `exists-but-differs: ${string}` | `exists, keeps role ${string}` | 'not read';
  workspaces: Array<{ name: string; would: 'create' | 'exists' | 'missing' | `exists-but-differs: ${string}` }>;
  projects: Array<{ target: string; would: 'create' | 'exists' | 'missing' | 'in another workspace' }>;
  memberships: Array<{ target: string; role: string; would: 'add' | 'already member' | `has ${string} (kept)` }>;
}

/**
 * The read-only side of a dry run: GET requests only, whatever the plan says (this module never calls a
 * method that writes). Workspaces and projects shared by several people are read once per call.
 */
export function createInspectActivities({ client }: { client: KubeSphereClient }) {
  return mapFailures({
    /** `readUsers`: only for a platform-admin, who may read any user (others would learn who exists, and their emails). */
    async inspectPlans(plans: OnboardingPlan[], options: { readUsers: boolean }): Promise<Inspection[]> {
      const workspaces = new Map<string, Promise<Inspection['workspaces'][number]['would']>>();
      const projects = new Map<string, Promise<Inspection['projects'][number]['would']>>();
      const notFound = (error: unknown) => isKubeSphereError(error, 'KS_NOT_FOUND');

      const workspace = (name: string, cluster: string | undefined, create: boolean) => {
        if (!workspaces.has(name))
          workspaces.set(
            name,
            client.getWorkspace(name).then(
              (ws) => {
                const placement = ws.spec?.placement;
                const onCluster =
                  placement?.clusterSelector !== undefined ||
                  (placement?.clusters ?? []).some((c) => c.name === (cluster ?? 'host'));
                return onCluster ? 'exists' : (`exists-but-differs: not placed on ${cluster ?? 'host'}` as const);
              },
              (error) => {
                if (notFound(error)) return create ? 'create' : 'missing';
                throw error;
              },
            ),
          );
        return workspaces.get(name)!;
      };
      const project = (p: OnboardingPlan['projects'][number]) => {
        const key = projectTarget(p.cluster, p.name);
        if (!projects.has(key))
          projects.set(
            key,
            client.getProject({ workspace: p.workspace, name: p.name, cluster: p.cluster }).then(
              () => 'exists' as const,
              (error) => {
                if (!notFound(error)) throw error;
                if (error.reason === 'in-another-workspace') return 'in another workspace' as const;
                return p.create ? ('create' as const) : ('missing' as const);
              },
            ),
          );
        return projects.get(key)!;
      };

      const inspect = async (plan: OnboardingPlan): Promise<Inspection> => {
        let user: Inspection['user'] = 'not read';
        let exists = true;
        if (options.readUsers) {
          try {
            const found = await client.getUser(plan.username);
            const email = found.spec?.email ?? '';
            const role = found.metadata.annotations?.[KEYS.globalRole];
            if (email.toLowerCase() !== plan.email.toLowerCase()) user = 'exists-but-differs: email';
            else if (role && role !== plan.globalRole) user = `exists, keeps role ${role}`;
            else user = 'exists';
          } catch (error) {
            if (!notFound(error)) throw error;
            user = 'create';
            exists = false;
          }
        }
        const memberships: Inspection['memberships'] = [];
        for (const ws of plan.workspaces) {
          const roles = exists ? await client.workspaceRolesOf(ws.name, plan.username).catch(ignoreMissing) : [];
          memberships.push({ target: ws.name, role: ws.role, would: membership(roles, ws.role) });
        }
        for (const p of plan.projects) {
          const ref = { namespace: p.name, cluster: p.cluster };
          const roles = exists ? await client.projectRolesOf(ref, plan.username).catch(ignoreMissing) : [];
          memberships.push({
            target: projectTarget(p.cluster, p.name),
            role: p.role,
            would: membership(roles, p.role),
          });
        }
        return {
          username: plan.username,
          user,
          workspaces: await Promise.all(
            plan.workspaces.map(async (ws) => ({
              name: ws.name,
              would: await workspace(ws.name, plan.projects.find((p) => p.workspace === ws.name)?.cluster, ws.create),
            })),
          ),
          projects: await Promise.all(
            plan.projects.map(async (p) => ({ target: projectTarget(p.cluster, p.name), would: await project(p) })),
          ),
          memberships,
        };
      };
      const out: Inspection[] = [];
      for (const plan of plans) out.push(await inspect(plan));
      return out;
    },
  });
}

/** A workspace or project that does not exist yet has no members. */
function ignoreMissing(error: unknown): string[] {
  if (isKubeSphereError(error, 'KS_NOT_FOUND')) return [];
  throw error;
}

function membership(current: string[], role: string): Inspection['memberships'][number]['would'] {
  if (current.includes(role)) return 'already member';
  if (current.length) return `has ${current[0]} (kept)`;
  return 'add';
}

export type InspectActivities = ReturnType<typeof createInspectActivities>;
