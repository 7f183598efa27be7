import { randomUUID, scryptSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/** The emulator's store: the Kubernetes objects ks-apiserver would read and write. */

export interface Meta {
  name: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

export interface UserObject {
  metadata: Meta;
  spec: { email: string; password?: string; lang?: string };
  status: { state?: string; lastTransitionTime?: string; lastLoginTime?: string; reason?: string };
}

export interface WorkspaceTemplateObject {
  metadata: Meta;
  spec: {
    template: { spec: { manager?: string } };
    placement: { clusters?: { name: string }[]; clusterSelector?: unknown };
  };
}

export interface NamespaceObject {
  metadata: Meta;
  spec: { finalizers: string[] };
  status: { phase: string };
}

export interface Binding {
  name: string;
  user: string;
  role: string;
  /** the workspace (workspace bindings) or namespace (project bindings) */
  scope?: string;
  createdAt: string;
}

export interface ClusterInfo {
  name: string;
  ready: boolean;
}

export interface StateData {
  resourceVersion: number;
  users: Record<string, UserObject>;
  globalRoles: string[];
  globalRoleBindings: Record<string, Binding>;
  workspaces: Record<string, WorkspaceTemplateObject>;
  /** WorkspaceRole name → workspace it belongs to */
  workspaceRoles: Record<string, string>;
  workspaceRoleBindings: Record<string, Binding>;
  /** cluster → namespace → object */
  namespaces: Record<string, Record<string, NamespaceObject>>;
  /** cluster → namespace → role names */
  roles: Record<string, Record<string, string[]>>;
  /** cluster → namespace → binding name → binding */
  roleBindings: Record<string, Record<string, Record<string, Binding>>>;
  /** username → epoch ms of failed logins */
  loginFailures: Record<string, number[]>;
}

export const BUILTIN_GLOBAL_ROLES = [
  'platform-admin',
  'platform-regular',
  'platform-self-provisioner',
  'anonymous',
  'authenticated',
  'pre-registration',
  'ks-console',
];
export const WORKSPACE_ROLE_SUFFIXES = ['admin', 'regular', 'self-provisioner', 'viewer'];
export const PROJECT_ROLES = ['admin', 'operator', 'viewer'];

export class State {
  data: StateData;
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly file: string | undefined,
    private readonly now: () => number,
  ) {
    this.data = file && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as StateData) : emptyState();
  }

  get loadedFromFile(): boolean {
    return this.data.resourceVersion > 0 && Object.keys(this.data.users).length > 0;
  }

  meta(name: string, extra: Partial<Meta> = {}): Meta {
    return {
      name,
      uid: randomUUID(),
      resourceVersion: this.nextVersion(),
      creationTimestamp: this.timestamp(),
      ...extra,
    };
  }

  nextVersion(): string {
    this.data.resourceVersion += 1;
    return String(this.data.resourceVersion);
  }

  /** RFC 3339 at one-second resolution, as Kubernetes writes it. */
  timestamp(): string {
    return new Date(Math.floor(this.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  }

  namespacesOf(cluster: string): Record<string, NamespaceObject> {
    return (this.data.namespaces[cluster] ??= {});
  }

  rolesOf(cluster: string, namespace: string): string[] {
    return this.data.roles[cluster]?.[namespace] ?? [];
  }

  roleBindingsOf(cluster: string, namespace: string): Record<string, Binding> {
    const perCluster = (this.data.roleBindings[cluster] ??= {});
    return (perCluster[namespace] ??= {});
  }

  /** Writes are coalesced: one file write per burst, atomically via rename. */
  changed(): void {
    if (!this.file || this.saveTimer) return;
    this.saveTimer = setTimeout(() => this.flush(), 50);
    this.saveTimer.unref();
  }

  flush(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (!this.file) return;
    const temp = `${this.file}.tmp`;
    writeFileSync(temp, JSON.stringify(this.data));
    renameSync(temp, this.file);
  }
}

function emptyState(): StateData {
  return {
    resourceVersion: 0,
    users: {},
    globalRoles: [...BUILTIN_GLOBAL_ROLES],
    globalRoleBindings: {},
    workspaces: {},
    workspaceRoles: {},
    workspaceRoleBindings: {},
    namespaces: {},
    roles: {},
    roleBindings: {},
    loginFailures: {},
  };
}

// The emulator stores a scrypt hash, never the plain text (the real controller stores bcrypt).
export function hashPassword(password: string): string {
  const salt = randomBytes(8).toString('hex');
  return `scrypt$${salt}$${scryptSync(password, salt, 24, { N: 1024 }).toString('hex')}`;
}

export function verifyPassword(stored: string | undefined, candidate: string): boolean {
  if (!stored?.startsWith('scrypt$')) return false;
  const [, salt, hash] = stored.split('$');
  const expected = Buffer.from(hash!, 'hex');
  const actual = scryptSync(candidate, salt!, expected.length, { N: 1024 });
  return timingSafeEqual(expected, actual);
}
