import * as members from './members.js';
import * as tenant from './tenant.js';
import * as users from './users.js';
import type { RequestContext } from './context.js';
import type { Reply } from './reply.js';

const IAM = '/kapis/iam.kubesphere.io/v1beta1';
const TENANT = '/kapis/tenant.kubesphere.io/v1beta1';

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  template: string;
  handler: (ctx: RequestContext) => Reply;
  /** for the 403 text of the authorization filter */
  resource: { group: string; resource: string; nameParam?: string; namespaceParam?: string };
  /** a non-admin may call it on their own user */
  self?: boolean;
}

const usersResource = { group: 'iam.kubesphere.io', resource: 'users', nameParam: 'name' };
const templates = { group: 'tenant.kubesphere.io', resource: 'workspacetemplates', nameParam: 'workspace' };
const namespaces = { group: 'tenant.kubesphere.io', resource: 'namespaces', nameParam: 'namespace' };
const wsMembers = { group: 'iam.kubesphere.io', resource: 'workspacemembers', nameParam: 'member' };
const nsMembers = {
  group: 'iam.kubesphere.io',
  resource: 'namespacemembers',
  nameParam: 'member',
  namespaceParam: 'namespace',
};
const pageNotFound = (): Reply => ({
  status: 404,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body: '404: Page Not Found',
});

/** The ks-apiserver routes the emulator serves (kubesphere-api.md §3–§9). */
export const ROUTES: Route[] = [
  { method: 'POST', template: `${IAM}/users`, handler: users.createUser, resource: usersResource },
  { method: 'GET', template: `${IAM}/users`, handler: users.listUsers, resource: usersResource },
  { method: 'GET', template: `${IAM}/users/:name`, handler: users.getUser, resource: usersResource, self: true },
  { method: 'PUT', template: `${IAM}/users/:name`, handler: users.updateUser, resource: usersResource, self: true },

  { method: 'POST', template: `${TENANT}/workspacetemplates`, handler: tenant.createWorkspace, resource: templates },
  { method: 'POST', template: `${TENANT}/workspaces`, handler: tenant.createWorkspace, resource: templates },
  { method: 'GET', template: `${TENANT}/workspacetemplates`, handler: tenant.listWorkspaces, resource: templates },
  { method: 'GET', template: `${TENANT}/workspaces`, handler: tenant.listWorkspaces, resource: templates },
  {
    method: 'GET',
    template: `${TENANT}/workspacetemplates/:workspace`,
    handler: tenant.getWorkspace,
    resource: templates,
  },
  {
    method: 'GET',
    template: `${TENANT}/workspaces/:workspace/clusters`,
    handler: tenant.listWorkspaceClusters,
    resource: templates,
  },

  {
    method: 'POST',
    template: `${TENANT}/workspaces/:workspace/namespaces`,
    handler: tenant.createNamespace,
    resource: namespaces,
  },
  {
    method: 'GET',
    template: `${TENANT}/workspaces/:workspace/namespaces`,
    handler: tenant.listNamespaces,
    resource: namespaces,
  },
  {
    method: 'GET',
    template: `${TENANT}/workspaces/:workspace/namespaces/:namespace`,
    handler: tenant.getNamespace,
    resource: namespaces,
  },

  {
    method: 'POST',
    template: `${IAM}/workspaces/:workspace/workspacemembers`,
    handler: members.addWorkspaceMembers,
    resource: wsMembers,
  },
  {
    method: 'GET',
    template: `${IAM}/workspaces/:workspace/workspacemembers`,
    handler: members.listWorkspaceMembers,
    resource: wsMembers,
  },
  {
    method: 'GET',
    template: `${IAM}/workspaces/:workspace/workspacemembers/:member`,
    handler: members.getWorkspaceMember,
    resource: wsMembers,
  },
  {
    method: 'PUT',
    template: `${IAM}/workspaces/:workspace/workspacemembers/:member`,
    handler: members.updateWorkspaceMember,
    resource: wsMembers,
  },
  {
    method: 'DELETE',
    template: `${IAM}/workspaces/:workspace/workspacemembers/:member`,
    handler: members.removeWorkspaceMember,
    resource: wsMembers,
  },

  {
    method: 'POST',
    template: `${IAM}/namespaces/:namespace/namespacemembers`,
    handler: members.addProjectMembers,
    resource: nsMembers,
  },
  {
    method: 'GET',
    template: `${IAM}/namespaces/:namespace/namespacemembers`,
    handler: members.listProjectMembers,
    resource: nsMembers,
  },
  // 4.x has no GET-one route here: the miss falls through to go-restful's 404 (§9).
  {
    method: 'GET',
    template: `${IAM}/namespaces/:namespace/namespacemembers/:member`,
    handler: pageNotFound,
    resource: nsMembers,
  },
  {
    method: 'PUT',
    template: `${IAM}/namespaces/:namespace/namespacemembers/:member`,
    handler: members.updateProjectMember,
    resource: nsMembers,
  },
  {
    method: 'DELETE',
    template: `${IAM}/namespaces/:namespace/namespacemembers/:member`,
    handler: members.removeProjectMember,
    resource: nsMembers,
  },
];

interface Compiled {
  regex: RegExp;
  keys: string[];
  template: string;
  byMethod: Map<string, Route>;
}

export interface RouteMatch {
  template: string;
  params: Record<string, string>;
  route: Route | undefined; // undefined: the path exists, the method does not
}

export class Router {
  private readonly compiled: Compiled[] = [];

  constructor(routes: Route[]) {
    for (const route of routes) {
      let entry = this.compiled.find((c) => c.template === route.template);
      if (!entry) {
        const keys: string[] = [];
        const pattern = route.template.replace(/[.]/g, '\\.').replace(/:(\w+)/g, (_, key: string) => {
          keys.push(key);
          return '([^/]+)';
        });
        entry = { regex: new RegExp(`^${pattern}$`), keys, template: route.template, byMethod: new Map() };
        this.compiled.push(entry);
      }
      entry.byMethod.set(route.method, route);
    }
  }

  match(method: string, path: string): RouteMatch | undefined {
    for (const entry of this.compiled) {
      const found = entry.regex.exec(path);
      if (!found) continue;
      const params: Record<string, string> = {};
      entry.keys.forEach((key, i) => {
        params[key] = decodeURIComponent(found[i + 1]!);
      });
      return { template: entry.template, params, route: entry.byMethod.get(method) };
    }
    return undefined;
  }
}
