import { listEnvelope } from './list.js';
import { fail, json, text, type Reply } from './reply.js';
import { readJson, record, stringField, stringMapField, withType, type RequestContext } from './context.js';
import type { NamespaceObject, WorkspaceTemplateObject } from './state.js';
import { invalidName } from './validation.js';

const TENANT_VERSION = 'tenant.kubesphere.io/v1beta1';

/** POST /workspacetemplates (§6): every failure but NotFound/Forbidden is answered 400, "exists" included. */
export function createWorkspace(ctx: RequestContext): Reply {
  const body = record(readJson(ctx, 'v1beta1.WorkspaceTemplate', 'object'));
  const metadata = record(body.metadata);
  const spec = record(body.spec);
  const name = stringField(metadata.name, 'metadata.name', 'WorkspaceTemplate') ?? '';
  const annotations = stringMapField(metadata.annotations, 'metadata.annotations', 'WorkspaceTemplate') ?? {};
  const labels = stringMapField(metadata.labels, 'metadata.labels', 'WorkspaceTemplate');
  const manager = stringField(
    record(record(spec.template).spec).manager,
    'spec.template.spec.manager',
    'WorkspaceTemplate',
  );
  const placement = record(spec.placement);
  const clusters = Array.isArray(placement.clusters)
    ? placement.clusters.map(
        (c, i) => stringField(record(c).name, `spec.placement.clusters[${i}].name`, 'WorkspaceTemplate') ?? '',
      )
    : [];
  const { state, controllers } = ctx;

  for (const cluster of clusters) {
    if (!ctx.clusters.some((c) => c.name === cluster))
      fail(text(404, `Cluster.cluster.kubesphere.io "${cluster}" not found`));
  }
  if (manager && manager !== ctx.user && !ctx.isAdmin) {
    fail(
      text(
        403,
        `workspacetemplates.tenant.kubesphere.io "${name}" is forbidden: reason: only platform admins may name another manager`,
      ),
    );
  }
  const badName = invalidName('WorkspaceTemplate.tenant.kubesphere.io', name, 'subdomain');
  if (badName) fail(text(400, badName));
  if (state.data.workspaces[name]) fail(text(400, `workspacetemplates.tenant.kubesphere.io "${name}" already exists`));

  const workspace: WorkspaceTemplateObject = {
    metadata: state.meta(name, { annotations, ...(labels ? { labels } : {}) }),
    spec: {
      template: { spec: manager ? { manager } : {} },
      placement:
        placement.clusterSelector !== undefined
          ? { clusterSelector: placement.clusterSelector }
          : { clusters: clusters.map((c) => ({ name: c })) },
    },
  };
  state.data.workspaces[name] = workspace;
  controllers.workspaceCreated(name);
  return json(200, workspace);
}

export function listWorkspaces(ctx: RequestContext): Reply {
  const all = Object.values(ctx.state.data.workspaces).map((w) => withType(TENANT_VERSION, 'WorkspaceTemplate', w));
  return json(200, listEnvelope(all, ctx.query));
}

export function getWorkspace(ctx: RequestContext): Reply {
  const name = ctx.params.workspace!;
  const workspace = ctx.state.data.workspaces[name];
  if (!workspace) fail(text(404, `WorkspaceTemplate.tenant.kubesphere.io "${name}" not found`));
  return json(200, withType(TENANT_VERSION, 'WorkspaceTemplate', workspace));
}

export function listWorkspaceClusters(ctx: RequestContext): Reply {
  const name = ctx.params.workspace!;
  const workspace = ctx.state.data.workspaces[name];
  if (!workspace) fail(text(404, `WorkspaceTemplate.tenant.kubesphere.io "${name}" not found`));
  const placement = workspace.spec.placement;
  const names =
    placement.clusterSelector !== undefined
      ? ctx.clusters.map((c) => c.name)
      : (placement.clusters ?? []).map((c) => c.name);
  const items = names.map((cluster) => ({
    apiVersion: 'cluster.kubesphere.io/v1alpha1',
    kind: 'Cluster',
    metadata: { name: cluster, creationTimestamp: null },
  }));
  return json(200, { items, totalItems: items.length });
}

/** POST /workspaces/{ws}/namespaces (§7): the workspace is not checked, its label is forced. */
export function createNamespace(ctx: RequestContext): Reply {
  const workspace = ctx.params.workspace!;
  const body = record(readJson(ctx, 'v1.Namespace', 'object'));
  const metadata = record(body.metadata);
  const name = stringField(metadata.name, 'metadata.name', 'Namespace') ?? '';
  const annotations = stringMapField(metadata.annotations, 'metadata.annotations', 'Namespace') ?? {};
  const labels = {
    ...stringMapField(metadata.labels, 'metadata.labels', 'Namespace'),
    'kubesphere.io/workspace': workspace,
  };
  const { state, controllers } = ctx;
  const namespaces = state.namespacesOf(ctx.cluster);

  const badName = invalidName('Namespace', name, 'label');
  if (badName) fail(text(400, badName));
  if (namespaces[name]) fail(text(400, `namespaces "${name}" already exists`));

  const namespace: NamespaceObject = {
    metadata: state.meta(name, { labels, annotations }),
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
  namespaces[name] = namespace;
  controllers.namespaceCreated(ctx.cluster, name);
  return json(200, namespace);
}

export function listNamespaces(ctx: RequestContext): Reply {
  const workspace = ctx.params.workspace!;
  const all = Object.values(ctx.state.namespacesOf(ctx.cluster))
    .filter((n) => n.metadata.labels?.['kubesphere.io/workspace'] === workspace)
    .map((n) => withType('v1', 'Namespace', n));
  return json(200, listEnvelope(all, ctx.query));
}

export function getNamespace(ctx: RequestContext): Reply {
  const { workspace, namespace: name } = ctx.params as { workspace: string; namespace: string };
  const namespace = ctx.state.namespacesOf(ctx.cluster)[name];
  if (!namespace) fail(text(404, `Namespace "${name}" not found`));
  // Built by hand in DescribeNamespace, hence the different wording for another workspace's namespace.
  if (namespace.metadata.labels?.['kubesphere.io/workspace'] !== workspace)
    fail(text(404, `namespace "${name}" not found`));
  return json(200, withType('v1', 'Namespace', namespace));
}
