import type { Controllers } from './controllers.js';
import { hashPassword, type State } from './state.js';

/**
 * The accounts of a fresh emulator. `ops-admin` is a second platform-admin, so that approvals can be
 * made by someone other than the worker's own account (`admin`).
 *
 * Test helpers, the dev stack and any client-side code repeat these values on purpose instead of
 * importing them: the emulator is the client's independent oracle and never shares code with it.
 */
export const SEEDED_ACCOUNTS = {
  admin: { username: 'admin', email: 'admin@kubesphere.io', password: 'P@88w0rd', globalRole: 'platform-admin' },
  opsAdmin: {
    username: 'ops-admin',
    email: 'ops-admin@example.com',
    password: 'Ops-P@88w0rd',
    globalRole: 'platform-admin',
  },
} as const;

/** The seed objects of a fresh install (§10); never applied over a loaded state file. */
export function seed(state: State, controllers: Controllers, adminPassword: string): void {
  const { admin, opsAdmin } = SEEDED_ACCOUNTS;
  // admin as the Helm chart makes it: flagged to change its password at first console login, and
  // bound by a GlobalRoleBinding named just `admin`.
  seedUser(state, { ...admin, password: adminPassword }, 'admin', { 'iam.kubesphere.io/uninitialized': 'true' });
  // ops-admin as if created through the API with the role annotation: binding `<user>-<role>`.
  seedUser(state, opsAdmin, `${opsAdmin.username}-${opsAdmin.globalRole}`, {});
  state.data.workspaces['system-workspace'] = {
    metadata: state.meta('system-workspace', { annotations: { 'kubesphere.io/creator': 'admin' } }),
    spec: { template: { spec: { manager: 'admin' } }, placement: { clusterSelector: {} } },
  };
  controllers.initWorkspace('system-workspace');
}

/** An account that is Active at once, with its password hashed and its global role bound. */
function seedUser(
  state: State,
  account: { username: string; email: string; password: string; globalRole: string },
  bindingName: string,
  annotations: Record<string, string>,
): void {
  state.data.users[account.username] = {
    metadata: state.meta(account.username, {
      annotations: { ...annotations, 'iam.kubesphere.io/globalrole': account.globalRole },
      finalizers: ['finalizers.kubesphere.io/users'],
    }),
    spec: { email: account.email, password: hashPassword(account.password) },
    status: { state: 'Active', lastTransitionTime: state.timestamp() },
  };
  state.data.globalRoleBindings[bindingName] = {
    name: bindingName,
    user: account.username,
    role: account.globalRole,
    createdAt: state.timestamp(),
  };
}
