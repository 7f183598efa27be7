import { z } from 'zod';
import { createTokenSource, type AuthHealth, type Credentials, type TokenSource } from './auth.js';
import { KS_REASONS, KubeSphereError, errorFromResponse, isKubeSphereError } from './errors.js';
import { IAM, TENANT, clusterPrefix, segment } from './paths.js';
import {
  KEYS,
  listSchema,
  memberSchema,
  namespaceSchema,
  successSchema,
  userSchema,
  workspaceTemplateSchema,
  type ListResult,
  type Member,
  type Namespace,
  type User,
  type WorkspaceTemplate,
} from './schemas.js';
import { Transport, type HttpRequest, type HttpResponse, type TransportOptions } from './transport.js';

export interface KubeSphereClientOptions extends TransportOptions {
  /** A password login, a ready token, or a function that returns the current password login. */
  credentials: Credentials;
  /** Clock for token expiry (tests). */
  now?: () => number;
  /**
   * Fired once each time KubeSphere rejects the login credentials. From then on, calls fail with
   * KS_CREDENTIALS_REJECTED without a request until the credentials change (see authHealth()).
   */
  onCredentialsRejected?: (reason: string) => void;
}

/** Who holds a token, from /oauth/userinfo (§12a). */
export interface Identity {
  username: string;
  email?: string;
}

/** §1.7 list parameters; any other key becomes a server-side filter. */
export interface ListQuery {
  limit?: number;
  page?: number;
  sortBy?: 'creationTimestamp' | 'name' | 'createTime';
  ascending?: boolean;
  name?: string;
  names?: string[];
  labelSelector?: string;
  fieldSelector?: string;
  [filter: string]: string | number | boolean | string[] | undefined;
}

// ---- input schemas: bad input fails here, before any request -------------------------------------

const name = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .regex(/^[^\s/?#%]+$/, 'must not contain "/", "?", "#", "%" or white space');
const optionalCluster = name.optional();
const annotations = z.record(z.string(), z.string()).optional();

const createUserInput = z.object({
  name,
  email: z.string({ error: 'must be a string' }).optional(),
  password: z.string({ error: 'must be a string' }).min(1, 'must not be empty when given').optional(),
  globalRole: name.optional(),
  annotations,
});
export type CreateUserInput = z.input<typeof createUserInput>;

const createWorkspaceInput = z.object({
  name,
  manager: name.optional(),
  clusters: z.array(name).optional(),
  annotations,
});
export type CreateWorkspaceInput = z.input<typeof createWorkspaceInput>;

const projectRef = z.object({ workspace: name, name, cluster: optionalCluster });
export type ProjectRef = z.input<typeof projectRef>;
const createProjectInput = projectRef.extend({ creator: name.optional(), annotations });
export type CreateProjectInput = z.input<typeof createProjectInput>;

const namespaceRef = z.object({ namespace: name, cluster: optionalCluster });
export type NamespaceRef = z.input<typeof namespaceRef>;
const membersInput = z.array(z.object({ username: name, roleRef: name })).min(1, 'must list at least one member');

const userForUpdate = userSchema.extend({
  metadata: userSchema.shape.metadata.extend({ resourceVersion: z.string().min(1, 'is required for an update') }),
});

// Built once: constructing a zod schema costs far more than using it.
const userList = listSchema(userSchema);
const workspaceList = listSchema(workspaceTemplateSchema);
const namespaceList = listSchema(namespaceSchema);
const memberEcho = z.array(memberSchema);

// Printable ASCII without spaces: what fits after `Bearer ` in a header.
const bearerToken = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .regex(/^[\x21-\x7e]+$/, 'must be a bare token (printable ASCII, no spaces, no "Bearer " prefix)');

// §12a: claims of the token's holder; empty ones may be left out.
const userInfoSchema = z.looseObject({
  sub: z.string().min(1),
  preferred_username: z.string().optional(),
  email: z.string().optional(),
});

// §7: DescribeNamespace builds this lower-case text by hand when the namespace has another workspace's label.
const IN_ANOTHER_WORKSPACE_TEXT = /^namespace "[^"]*" not found$/;

const PLAIN_NAME = /^[^\s/?#%]+$/;

function parseInput<S extends z.ZodType>(schema: S, value: unknown, operation: string): z.output<S> {
  // The hot path of every single-object call; zod still judges (and words) anything else.
  if (schema === (name as z.ZodType) && typeof value === 'string' && PLAIN_NAME.test(value))
    return value as z.output<S>;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.length ? issue.path.join('.') : 'input';
    return `${field} ${issue.message}`;
  });
  throw new KubeSphereError('KS_BAD_INPUT', `${operation}: ${problems.join('; ')}`);
}

/**
 * Typed client for the ks-apiserver endpoints in kubesphere-api.md. It has no delete method, and its
 * transport refuses any method but GET, POST and PUT. It never retries on its own except one
 * re-login after a 401: retries belong to the caller (Temporal activities).
 */
export class KubeSphereClient {
  private readonly transport: Transport;
  private readonly auth: TokenSource;
  /** Set on views made by withSignal(): every request of the view carries it. */
  private signal: AbortSignal | undefined;
  private isView = false;

  constructor(options: KubeSphereClientOptions) {
    this.transport = new Transport(options);
    this.auth = createTokenSource(options.credentials, this.transport, {
      now: options.now,
      onCredentialsRejected: options.onCredentialsRejected,
    });
  }

  get baseUrl(): string {
    return this.transport.origin;
  }

  /**
   * A view of this client whose every request is stopped when `signal` fires (KS_ABORTED), e.g. an
   * activity's cancellation signal. It shares this client's connection pool and login; closing the
   * view does nothing. Views of views stop on either signal.
   */
  withSignal(signal: AbortSignal): KubeSphereClient {
    // A prototype-linked object: it reads every field of this client (pool, token source) and only
    // shadows the signal, so making a view per activity costs next to nothing.
    const view = Object.create(this) as KubeSphereClient;
    view.signal = this.signal ? AbortSignal.any([this.signal, signal]) : signal;
    view.isView = true;
    return view;
  }

  /**
   * Whether the client can still log in. `ok: false` after KubeSphere rejected the password login
   * (until different credentials succeed) or refused the configured token.
   */
  authHealth(): AuthHealth {
    return this.auth.health();
  }

  // ---- identity --------------------------------------------------------------------------------

  /**
   * Who holds `token` (§12a), asked with that token rather than the client's own: for checking who
   * approves. A refused or missing token is KS_UNAUTHORIZED; the token never appears in a message.
   */
  async whoAmI(token: string): Promise<Identity> {
    const bearer = parseInput(bearerToken, token, 'whoAmI');
    const request: HttpRequest = {
      method: 'GET',
      path: '/oauth/userinfo',
      headers: { accept: 'application/json', authorization: `Bearer ${bearer}` },
      secrets: [bearer, ...this.auth.secrets],
      signal: this.signal,
    };
    const response = await this.transport.send(request);
    if (response.status === 401) {
      // Two bodies mean the same thing here: a Status from the filter, or OAuth `login_required`.
      const refused = errorFromResponse(401, response.text, response.contentType, request);
      throw new KubeSphereError('KS_UNAUTHORIZED', refused.serverMessage, {
        status: 401,
        reason: refused.reason,
        method: 'GET',
        path: request.path,
      });
    }
    if (response.status < 200 || response.status >= 300) this.transport.fail(response, request);
    const claims = parseAnswer(response, userInfoSchema, 'GET', request.path);
    return { username: claims.sub, ...(claims.email ? { email: claims.email } : {}) };
  }

  // ---- users ------------------------------------------------------------------------------------

  // ---- users ------------------------------------------------------------------------------------

  async createUser(input: CreateUserInput): Promise<User> {
    const args = parseInput(createUserInput, input, 'createUser');
    const body = {
      apiVersion: 'iam.kubesphere.io/v1beta1',
      kind: 'User',
      metadata: {
        name: args.name,
        annotations: { ...args.annotations, ...(args.globalRole ? { [KEYS.globalRole]: args.globalRole } : {}) },
      },
      spec: { email: args.email ?? '', ...(args.password ? { password: args.password } : {}) },
    };
    return this.call('POST', `${IAM}/users`, userSchema, { body, secrets: args.password ? [args.password] : [] });
  }

  async getUser(username: string): Promise<User> {
    const user = parseInput(name, username, 'getUser');
    return this.call('GET', `${IAM}/users/${segment(user)}`, userSchema);
  }

  async listUsers(query: ListQuery = {}): Promise<ListResult<User>> {
    return this.call('GET', `${IAM}/users`, userList, { query });
  }

  /**
   * Names of the users bound to a global role (§4 `?globalrole=`, unpaged), e.g. to count the
   * platform-admins before demoting one. Users whose role annotation says otherwise are left out: a
   * server that ignored the filter would list everyone, and an overcount could demote the last admin.
   */
  async usersWithGlobalRole(role: string): Promise<string[]> {
    const wanted = parseInput(name, role, 'usersWithGlobalRole');
    const list = await this.call('GET', `${IAM}/users`, userList, { query: { globalrole: wanted } });
    const names = list.items
      .filter((user) => user.metadata.annotations?.[KEYS.globalRole] === wanted)
      .map((user) => user.metadata.name);
    return [...new Set(names)];
  }

  /** Full replace of a user (§5); `metadata.resourceVersion` from a fresh read is required. */
  async updateUser(user: User): Promise<User> {
    const args = parseInput(userForUpdate, user, 'updateUser');
    return this.call('PUT', `${IAM}/users/${segment(args.metadata.name)}`, userSchema, { body: args });
  }

  /** Read-modify-write of the global role annotation; a concurrent change fails with KS_STALE. */
  async setUserGlobalRole(username: string, role: string): Promise<User> {
    parseInput(z.object({ username: name, role: name }), { username, role }, 'setUserGlobalRole');
    const current = await this.getUser(username);
    const updated: User = {
      ...current,
      metadata: { ...current.metadata, annotations: { ...current.metadata.annotations, [KEYS.globalRole]: role } },
    };
    return this.updateUser(updated);
  }

  // ---- workspaces ------------------------------------------------------------------------------

  async createWorkspace(input: CreateWorkspaceInput): Promise<WorkspaceTemplate> {
    const args = parseInput(createWorkspaceInput, input, 'createWorkspace');
    const body = {
      apiVersion: 'tenant.kubesphere.io/v1beta1',
      kind: 'WorkspaceTemplate',
      metadata: { name: args.name, annotations: { ...args.annotations } },
      spec: {
        template: { spec: args.manager ? { manager: args.manager } : {} },
        placement: { clusters: (args.clusters ?? []).map((cluster) => ({ name: cluster })) },
      },
    };
    return this.call('POST', `${TENANT}/workspacetemplates`, workspaceTemplateSchema, { body });
  }

  async getWorkspace(workspace: string): Promise<WorkspaceTemplate> {
    const ws = parseInput(name, workspace, 'getWorkspace');
    return this.call('GET', `${TENANT}/workspacetemplates/${segment(ws)}`, workspaceTemplateSchema);
  }

  async listWorkspaces(query: ListQuery = {}): Promise<ListResult<WorkspaceTemplate>> {
    return this.call('GET', `${TENANT}/workspacetemplates`, workspaceList, { query });
  }

  // ---- projects (namespaces in a workspace, on a cluster) --------------------------------------

  /** Always labels the namespace `kubesphere.io/managed=true`: without it KubeSphere creates no project roles. */
  async createProject(input: CreateProjectInput): Promise<Namespace> {
    const args = parseInput(createProjectInput, input, 'createProject');
    const body = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: args.name,
        labels: { [KEYS.workspaceLabel]: args.workspace, [KEYS.managedLabel]: 'true' },
        annotations: { ...args.annotations, ...(args.creator ? { [KEYS.creator]: args.creator } : {}) },
      },
    };
    const path = `${clusterPrefix(args.cluster)}${TENANT}/workspaces/${segment(args.workspace)}/namespaces`;
    return this.call('POST', path, namespaceSchema, { body });
  }

  /**
   * KS_NOT_FOUND either way when the project is missing; `reason` is KS_REASONS.inAnotherWorkspace
   * when a namespace of that name exists but belongs to another workspace.
   */
  async getProject(ref: ProjectRef): Promise<Namespace> {
    const args = parseInput(projectRef, ref, 'getProject');
    const path = `${clusterPrefix(args.cluster)}${TENANT}/workspaces/${segment(args.workspace)}/namespaces/${segment(args.name)}`;
    try {
      return await this.call('GET', path, namespaceSchema);
    } catch (error) {
      if (isKubeSphereError(error, 'KS_NOT_FOUND') && IN_ANOTHER_WORKSPACE_TEXT.test(error.serverMessage)) {
        throw new KubeSphereError('KS_NOT_FOUND', error.serverMessage, {
          status: error.status,
          reason: KS_REASONS.inAnotherWorkspace,
          method: error.method,
          path: error.path,
          cause: error.cause,
        });
      }
      throw error;
    }
  }

  async listProjects(
    ref: { workspace: string; cluster?: string },
    query: ListQuery = {},
  ): Promise<ListResult<Namespace>> {
    const args = parseInput(projectRef.omit({ name: true }), ref, 'listProjects');
    const path = `${clusterPrefix(args.cluster)}${TENANT}/workspaces/${segment(args.workspace)}/namespaces`;
    return this.call('GET', path, namespaceList, { query });
  }

  // ---- workspace members -----------------------------------------------------------------------

  /** POST replaces an existing member's role (§8): callers must read first if that matters. */
  async addWorkspaceMembers(workspace: string, members: Member[]): Promise<Member[]> {
    const args = parseInput(
      z.object({ workspace: name, members: membersInput }),
      { workspace, members },
      'addWorkspaceMembers',
    );
    return this.call('POST', `${IAM}/workspaces/${segment(args.workspace)}/workspacemembers`, memberEcho, {
      body: args.members,
    });
  }

  async updateWorkspaceMember(workspace: string, member: Member): Promise<void> {
    const args = parseInput(
      z.object({ workspace: name, member: membersInput.element }),
      { workspace, member },
      'updateWorkspaceMember',
    );
    const path = `${IAM}/workspaces/${segment(args.workspace)}/workspacemembers/${segment(args.member.username)}`;
    await this.call('PUT', path, successSchema, { body: args.member });
  }

  async listWorkspaceMembers(workspace: string, query: ListQuery = {}): Promise<ListResult<User>> {
    const ws = parseInput(name, workspace, 'listWorkspaceMembers');
    return this.call('GET', `${IAM}/workspaces/${segment(ws)}/workspacemembers`, userList, { query });
  }

  async getWorkspaceMember(workspace: string, username: string): Promise<User> {
    const args = parseInput(
      z.object({ workspace: name, username: name }),
      { workspace, username },
      'getWorkspaceMember',
    );
    return this.call(
      'GET',
      `${IAM}/workspaces/${segment(args.workspace)}/workspacemembers/${segment(args.username)}`,
      userSchema,
    );
  }

  /** The user's roles in a workspace (normally zero or one), read from the member list. */
  async workspaceRolesOf(workspace: string, username: string): Promise<string[]> {
    const list = await this.listWorkspaceMembers(workspace, { names: [username] });
    return rolesFrom(list.items, username, KEYS.workspaceRole);
  }

  // ---- project members -------------------------------------------------------------------------

  async addProjectMembers(ref: NamespaceRef, members: Member[]): Promise<Member[]> {
    const args = parseInput(namespaceRef.extend({ members: membersInput }), { ...ref, members }, 'addProjectMembers');
    const path = `${clusterPrefix(args.cluster)}${IAM}/namespaces/${segment(args.namespace)}/namespacemembers`;
    return this.call('POST', path, memberEcho, { body: args.members });
  }

  async updateProjectMember(ref: NamespaceRef, member: Member): Promise<void> {
    const args = parseInput(
      namespaceRef.extend({ member: membersInput.element }),
      { ...ref, member },
      'updateProjectMember',
    );
    const path = `${clusterPrefix(args.cluster)}${IAM}/namespaces/${segment(args.namespace)}/namespacemembers/${segment(args.member.username)}`;
    await this.call('PUT', path, successSchema, { body: args.member });
  }

  async listProjectMembers(ref: NamespaceRef, query: ListQuery = {}): Promise<ListResult<User>> {
    const args = parseInput(namespaceRef, ref, 'listProjectMembers');
    const path = `${clusterPrefix(args.cluster)}${IAM}/namespaces/${segment(args.namespace)}/namespacemembers`;
    return this.call('GET', path, userList, { query });
  }

  async projectRolesOf(ref: NamespaceRef, username: string): Promise<string[]> {
    const list = await this.listProjectMembers(ref, { names: [username] });
    return rolesFrom(list.items, username, KEYS.projectRole);
  }

  /** Closes the connection pool; a no-op on a view from withSignal(), which does not own it. */
  async close(): Promise<void> {
    if (this.isView) return;
    await this.transport.close();
  }

  // ---- plumbing --------------------------------------------------------------------------------

  // Header objects are reused while the token lasts: this is on every request's path.
  private headerCache: { token: string; read: Record<string, string>; write: Record<string, string> } | undefined;

  private headersFor(token: string, hasBody: boolean): Record<string, string> {
    if (this.headerCache?.token !== token) {
      const read = { accept: 'application/json', authorization: `Bearer ${token}` };
      this.headerCache = { token, read, write: { ...read, 'content-type': 'application/json' } };
    }
    return hasBody ? this.headerCache.write : this.headerCache.read;
  }

  private async call<S extends z.ZodType>(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    schema: S,
    options: { body?: unknown; query?: ListQuery; secrets?: string[] } = {},
  ): Promise<z.output<S>> {
    const request: HttpRequest = {
      method,
      path,
      query: options.query ? flattenQuery(options.query) : undefined,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    };
    const signal = this.signal;
    let token = this.auth.fresh() ?? (await this.auth.token(signal));
    let response = await this.transport.send({
      ...request,
      headers: this.headersFor(token, request.body !== undefined),
      signal,
    });
    if (response.status === 401) {
      token = await this.auth.renew(token, signal);
      response = await this.transport.send({
        ...request,
        headers: this.headersFor(token, request.body !== undefined),
        signal,
      });
    }
    if (response.status < 200 || response.status >= 300) {
      // Built only on failure: the common path should not pay for it.
      this.transport.fail(response, { ...request, secrets: [...this.auth.secrets, token, ...(options.secrets ?? [])] });
    }
    return parseAnswer(response, schema, method, path);
  }
}

/** JSON, then the schema: anything else is KS_BAD_RESPONSE naming the fields that did not fit. */
function parseAnswer<S extends z.ZodType>(
  response: HttpResponse,
  schema: S,
  method: string,
  path: string,
): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(response.text);
  } catch {
    throw new KubeSphereError('KS_BAD_RESPONSE', 'KubeSphere answered with a body that is not JSON', {
      method,
      path,
      status: response.status,
    });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new KubeSphereError('KS_BAD_RESPONSE', `KubeSphere's answer does not have the expected shape at: ${fields}`, {
      method,
      path,
      status: response.status,
    });
  }
  return parsed.data;
}

function flattenQuery(query: ListQuery): Record<string, string | number | boolean | undefined> {
  const out: Record<string, string | number | boolean | undefined> = {};
  for (const [key, value] of Object.entries(query)) out[key] = Array.isArray(value) ? value.join(',') : value;
  return out;
}

function rolesFrom(stubs: User[], username: string, key: string): string[] {
  return stubs
    .filter((stub) => stub.metadata.name === username)
    .map((stub) => stub.metadata.annotations?.[key])
    .filter((role): role is string => Boolean(role));
}
