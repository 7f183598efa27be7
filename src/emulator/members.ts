import { listEnvelope, type Listable } from './list.js';
import { SUCCESS, fail, json, text, type Reply } from './reply.js';
import { readJson, record, stringField, withType, type RequestContext } from './context.js';
import type { Binding } from './state.js';
import { getUserOr404, publicUser } from './users.js';

const WORKSPACE_ROLE = 'iam.kubesphere.io/workspacerole';
const PROJECT_ROLE = 'iam.kubesphere.io/role';

interface MemberRequest {
  username: string;
  roleRef: string;
}

function readMembers(ctx: RequestContext): MemberRequest[] {
  const body = readJson(ctx, '[]v1beta1.Member', 'array') as unknown[];
  return body.map((entry, i) => ({
    username: stringField(record(entry).username, `[${i}].username`, 'Member') ?? '',
    roleRef: stringField(record(entry).roleRef, `[${i}].roleRef`, 'Member') ?? '',
  }));
}

function readMember(ctx: RequestContext): MemberRequest {
  const body = record(readJson(ctx, 'v1beta1.Member', 'object'));
  const member = {
    username: stringField(body.username, 'username', 'Member') ?? '',
    roleRef: stringField(body.roleRef, 'roleRef', 'Member') ?? '',
  };
  const urlName = ctx.params.member!;
  if (member.username !== urlName)
    fail(text(400, `incorrect username ${member.username}, the username must equal to the member`));
  return member;
}

/** One stub per User binding: what 4.x lists instead of the stored users (§8). */
function stubs(bindings: Binding[], annotation: string): Listable[] {
  return bindings.map((b) => ({
    metadata: { name: b.user, creationTimestamp: null, annotations: { [annotation]: b.role } },
    spec: { email: '' },
    status: {},
  }));
}

// ---- workspace members (§8) ----

function requireWorkspaceRole(ctx: RequestContext, workspace: string, role: string): void {
  const owner = ctx.state.data.workspaceRoles[role];
  if (owner === undefined) fail(text(404, `WorkspaceRole.iam.kubesphere.io "${role}" not found`));
  if (owner !== workspace) fail(text(404, `workspacerole.iam.kubesphere.io "${role}" not found`));
}

/** Processes members in order and stops at the first error; earlier ones stay applied. */
export function addWorkspaceMembers(ctx: RequestContext): Reply {
  const workspace = ctx.params.workspace!;
  const members = readMembers(ctx);
  for (const member of members) {
    requireWorkspaceRole(ctx, workspace, member.roleRef);
    ctx.controllers.bindWorkspaceRole(workspace, member.username, member.roleRef);
  }
  return json(200, members);
}

export function updateWorkspaceMember(ctx: RequestContext): Reply {
  const workspace = ctx.params.workspace!;
  const member = readMember(ctx);
  if (ctx.controllers.workspaceBindingsOf(workspace, member.username).length === 0) {
    fail(text(400, `member ${member.username} not exist`));
  }
  requireWorkspaceRole(ctx, workspace, member.roleRef);
  ctx.controllers.bindWorkspaceRole(workspace, member.username, member.roleRef);
  return SUCCESS();
}

export function listWorkspaceMembers(ctx: RequestContext): Reply {
  const items = stubs(ctx.controllers.workspaceBindingsOf(ctx.params.workspace!), WORKSPACE_ROLE);
  return json(
    200,
    listEnvelope(items, ctx.query, {
      nullWhenFilteredEmpty: true,
      extraFilters: { workspacerole: (item, value) => item.metadata.annotations?.[WORKSPACE_ROLE] === value },
    }),
  );
}

export function getWorkspaceMember(ctx: RequestContext): Reply {
  const { workspace, member } = ctx.params as { workspace: string; member: string };
  const bindings = ctx.controllers.workspaceBindingsOf(workspace, member);
  if (bindings.length === 0) fail(text(400, `member ${member} not exist`));
  const user = publicUser(getUserOr404(ctx, member));
  user.metadata.annotations = { ...user.metadata.annotations, [WORKSPACE_ROLE]: bindings[0]!.role };
  return json(200, withType('iam.kubesphere.io/v1beta1', 'User', user));
}

export function removeWorkspaceMember(ctx: RequestContext): Reply {
  const { workspace, member } = ctx.params as { workspace: string; member: string };
  for (const binding of ctx.controllers.workspaceBindingsOf(workspace, member)) {
    delete ctx.state.data.workspaceRoleBindings[binding.name];
  }
  return SUCCESS();
}

// ---- project members (§9) ----

function requireProjectRole(ctx: RequestContext, namespace: string, role: string): void {
  if (!ctx.state.rolesOf(ctx.cluster, namespace).includes(role))
    fail(text(404, `Role.iam.kubesphere.io "${role}" not found`));
}

export function addProjectMembers(ctx: RequestContext): Reply {
  const namespace = ctx.params.namespace!;
  const members = readMembers(ctx);
  for (const member of members) {
    requireProjectRole(ctx, namespace, member.roleRef);
    ctx.controllers.bindProjectRole(ctx.cluster, namespace, member.username, member.roleRef);
  }
  return json(200, members);
}

export function updateProjectMember(ctx: RequestContext): Reply {
  const namespace = ctx.params.namespace!;
  const member = readMember(ctx);
  if (ctx.controllers.projectBindingsOf(ctx.cluster, namespace, member.username).length === 0) {
    fail(text(400, `member ${member.username} not exist`));
  }
  requireProjectRole(ctx, namespace, member.roleRef);
  ctx.controllers.bindProjectRole(ctx.cluster, namespace, member.username, member.roleRef);
  return SUCCESS();
}

export function listProjectMembers(ctx: RequestContext): Reply {
  const items = stubs(ctx.controllers.projectBindingsOf(ctx.cluster, ctx.params.namespace!), PROJECT_ROLE);
  return json(
    200,
    listEnvelope(items, ctx.query, {
      nullWhenFilteredEmpty: true,
      extraFilters: { role: (item, value) => item.metadata.annotations?.[PROJECT_ROLE] === value },
    }),
  );
}

export function removeProjectMember(ctx: RequestContext): Reply {
  const { namespace, member } = ctx.params as { namespace: string; member: string };
  const bindings = ctx.state.roleBindingsOf(ctx.cluster, namespace);
  for (const binding of ctx.controllers.projectBindingsOf(ctx.cluster, namespace, member))
    delete bindings[binding.name];
  return SUCCESS();
}
