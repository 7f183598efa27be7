import { fnv64aHex } from './validation.js';
import { PROJECT_ROLES, WORKSPACE_ROLE_SUFFIXES, type Binding, type State } from './state.js';

export interface ControllerDelays {
  /** until a new user reports `status.state: Active` (§3 async side effects) */
  userActivationMs: number;
  /** until a new workspace has its built-in roles and manager binding (§6) */
  workspaceRolesMs: number;
  /** until a managed project has its roles and creator binding (§7) */
  projectRolesMs: number;
}

const USER_FINALIZER = 'finalizers.kubesphere.io/users';
const CASCADING = 'kubesphere.io/cascading-deletion';

/**
 * The asynchronous half of KubeSphere: what its controllers do a moment after a write. Also the
 * binding rules shared by handlers (a user holds at most one role per scope; a new role replaces the old).
 */
export class Controllers {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly state: State,
    private readonly delays: ControllerDelays,
  ) {}

  later(delayMs: number, run: () => void): void {
    if (delayMs <= 0) {
      run();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
      this.state.changed();
    }, delayMs);
    this.timers.add(timer);
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  // ---- users ----

  userCreated(name: string): void {
    this.later(this.delays.userActivationMs, () => this.activateUser(name));
  }

  activateUser(name: string): void {
    const user = this.state.data.users[name];
    if (!user || user.status.state) return;
    user.metadata.finalizers = [...new Set([...(user.metadata.finalizers ?? []), USER_FINALIZER])];
    if (user.spec.password) {
      user.metadata.annotations = {
        ...user.metadata.annotations,
        'iam.kubesphere.io/last-password-change-time': this.state.timestamp(),
      };
    }
    user.status = { ...user.status, state: 'Active', lastTransitionTime: this.state.timestamp() };
    user.metadata.resourceVersion = this.state.nextVersion();
  }

  /** Replaces the user's global binding with `<user>-<role>` and mirrors the role in the annotation. */
  bindGlobalRole(user: string, role: string): void {
    const bindings = this.state.data.globalRoleBindings;
    for (const [name, binding] of Object.entries(bindings)) {
      if (binding.user === user && binding.role !== role) delete bindings[name];
    }
    if (!Object.values(bindings).some((b) => b.user === user && b.role === role)) {
      bindings[`${user}-${role}`] = { name: `${user}-${role}`, user, role, createdAt: this.state.timestamp() };
    }
    const object = this.state.data.users[user];
    if (object) object.metadata.annotations = { ...object.metadata.annotations, 'iam.kubesphere.io/globalrole': role };
  }

  globalRoleOf(user: string): string | undefined {
    return Object.values(this.state.data.globalRoleBindings).find((b) => b.user === user)?.role;
  }

  // ---- workspaces ----

  workspaceCreated(name: string): void {
    this.later(this.delays.workspaceRolesMs, () => this.initWorkspace(name));
  }

  initWorkspace(name: string): void {
    const workspace = this.state.data.workspaces[name];
    if (!workspace || workspace.metadata.finalizers?.includes(CASCADING)) return;
    for (const suffix of WORKSPACE_ROLE_SUFFIXES)
      this.state.data.workspaceRoles[workspaceRoleName(name, suffix)] = name;
    const manager = workspace.spec.template.spec.manager;
    if (manager) {
      const role = workspaceRoleName(name, 'admin');
      // The manager's binding is named after the workspace, not the user, and is made only once.
      this.state.data.workspaceRoleBindings[role] = {
        name: role,
        user: manager,
        role,
        scope: name,
        createdAt: this.state.timestamp(),
      };
    }
    workspace.metadata.finalizers = [CASCADING];
  }

  workspaceBindingsOf(workspace: string, user?: string): Binding[] {
    return Object.values(this.state.data.workspaceRoleBindings).filter(
      (b) => b.scope === workspace && (user === undefined || b.user === user),
    );
  }

  bindWorkspaceRole(workspace: string, user: string, role: string): void {
    const bindings = this.state.data.workspaceRoleBindings;
    const existing = this.workspaceBindingsOf(workspace, user);
    if (existing.some((b) => b.role === role)) return;
    for (const binding of existing) delete bindings[binding.name];
    const name = `${user}-${role}`;
    bindings[name] = { name, user, role, scope: workspace, createdAt: this.state.timestamp() };
  }

  // ---- projects ----

  namespaceCreated(cluster: string, name: string): void {
    this.later(this.delays.projectRolesMs, () => this.initNamespace(cluster, name));
  }

  initNamespace(cluster: string, name: string): void {
    const namespace = this.state.namespacesOf(cluster)[name];
    if (!namespace || namespace.metadata.finalizers?.includes(CASCADING)) return;
    if (namespace.metadata.labels?.['kubesphere.io/managed'] === 'true') {
      const perCluster = (this.state.data.roles[cluster] ??= {});
      perCluster[name] = [...PROJECT_ROLES];
    }
    const creator = namespace.metadata.annotations?.['kubesphere.io/creator'];
    if (creator) this.bindProjectRole(cluster, name, creator, 'admin');
    namespace.metadata.finalizers = [CASCADING];
  }

  projectBindingsOf(cluster: string, namespace: string, user?: string): Binding[] {
    return Object.values(this.state.roleBindingsOf(cluster, namespace)).filter(
      (b) => user === undefined || b.user === user,
    );
  }

  bindProjectRole(cluster: string, namespace: string, user: string, role: string): void {
    const bindings = this.state.roleBindingsOf(cluster, namespace);
    const existing = this.projectBindingsOf(cluster, namespace, user);
    if (existing.some((b) => b.role === role)) return;
    for (const binding of existing) delete bindings[binding.name];
    const name = `${user}-${role}`;
    bindings[name] = { name, user, role, scope: namespace, createdAt: this.state.timestamp() };
  }

  /** After a restart from a state file, finish what the controllers had pending. */
  reconcileAll(): void {
    for (const name of Object.keys(this.state.data.users)) this.activateUser(name);
    for (const name of Object.keys(this.state.data.workspaces)) this.initWorkspace(name);
    for (const [cluster, namespaces] of Object.entries(this.state.data.namespaces)) {
      for (const name of Object.keys(namespaces)) this.initNamespace(cluster, name);
    }
  }
}

/** `<ws>-<role>`, or KubeSphere's hashed form when that exceeds 63 characters (§6). */
export function workspaceRoleName(workspace: string, suffix: string): string {
  const name = `${workspace}-${suffix}`;
  return name.length > 63 ? `${suffix}.${fnv64aHex(workspace)}` : name;
}
