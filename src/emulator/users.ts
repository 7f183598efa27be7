import { listEnvelope } from './list.js';
import { fail, json, text, type Reply } from './reply.js';
import { readJson, record, stringField, stringMapField, withType, type RequestContext } from './context.js';
import { hashPassword, type UserObject } from './state.js';
import { invalidName, invalidPassword, isBcrypt, parseEmailAddress } from './validation.js';

const GLOBAL_ROLE = 'iam.kubesphere.io/globalrole';
const API_VERSION = 'iam.kubesphere.io/v1beta1';

/** A user as the API shows it: never with its password (§3 step 4). */
export function publicUser(user: UserObject) {
  const { password: _password, ...spec } = user.spec;
  return { metadata: structuredClone(user.metadata), spec, status: { ...user.status } };
}

export function getUserOr404(ctx: RequestContext, name: string): UserObject {
  const user = ctx.state.data.users[name];
  if (!user) fail(text(404, `User.iam.kubesphere.io "${name}" not found`));
  return user;
}

/** POST /users (§3): role check, then kube-apiserver's validation, webhook, and storage in that order. */
export function createUser(ctx: RequestContext): Reply {
  const body = record(readJson(ctx, 'v1beta1.User', 'object'));
  const metadata = record(body.metadata);
  const spec = record(body.spec);
  const name = stringField(metadata.name, 'metadata.name', 'User') ?? '';
  const annotations = stringMapField(metadata.annotations, 'metadata.annotations', 'User') ?? {};
  const labels = stringMapField(metadata.labels, 'metadata.labels', 'User');
  const email = stringField(spec.email, 'spec.email', 'User') ?? '';
  const password = stringField(spec.password, 'spec.password', 'User') ?? '';
  const lang = stringField(spec.lang, 'spec.lang', 'User');
  const globalRole = annotations[GLOBAL_ROLE];
  const { state, controllers } = ctx;

  if (globalRole && !state.data.globalRoles.includes(globalRole)) {
    fail(text(404, `GlobalRole.iam.kubesphere.io "${globalRole}" not found`));
  }
  const badName = invalidName('User.iam.kubesphere.io', name, 'subdomain');
  if (badName) fail(text(422, badName));
  const badPassword = invalidPassword(name, password);
  if (badPassword) fail(text(422, badPassword));
  checkEmail(ctx, name, email);
  if (state.data.users[name]) fail(text(409, `users.iam.kubesphere.io "${name}" already exists`));

  const user: UserObject = {
    metadata: state.meta(name, { annotations, ...(labels ? { labels } : {}) }),
    spec: {
      email,
      ...(lang ? { lang } : {}),
      ...(password ? { password: isBcrypt(password) ? password : hashPassword(password) } : {}),
    },
    status: {},
  };
  state.data.users[name] = user;
  if (globalRole) controllers.bindGlobalRole(name, globalRole);
  controllers.userCreated(name);
  return json(200, publicUser(user));
}

export function listUsers(ctx: RequestContext): Reply {
  const users = ctx.state.data.users;
  const role = ctx.query.get('globalrole');
  if (role !== null) {
    // Served from bindings, ignoring paging and sorting; a binding to a vanished user fails the call.
    const items = Object.values(ctx.state.data.globalRoleBindings)
      .filter((b) => b.role === role)
      .map((b) => {
        const user = users[b.user];
        if (!user) fail(text(500, `User.iam.kubesphere.io "${b.user}" not found`));
        return withType(API_VERSION, 'User', publicUser(user));
      });
    return json(200, { items, totalItems: items.length });
  }
  const all = Object.values(users).map((u) => withType(API_VERSION, 'User', publicUser(u)));
  return json(200, listEnvelope(all, ctx.query));
}

export function getUser(ctx: RequestContext): Reply {
  return json(200, withType(API_VERSION, 'User', publicUser(getUserOr404(ctx, ctx.params.name!))));
}

/** PUT /users/{name} (§5): a full replace guarded by resourceVersion; the password is never changed here. */
export function updateUser(ctx: RequestContext): Reply {
  const body = record(readJson(ctx, 'v1beta1.User', 'object'));
  const metadata = record(body.metadata);
  const spec = record(body.spec);
  const status = record(body.status);
  const name = stringField(metadata.name, 'metadata.name', 'User') ?? '';
  const urlName = ctx.params.name!;
  if (name !== urlName)
    fail(text(400, `the name of the object (${name}) does not match the name on the URL (${urlName})`));
  const { state, controllers } = ctx;
  const current = state.data.users[name];
  if (!current) fail(text(404, `users.iam.kubesphere.io "${name}" not found`));
  const resourceVersion = stringField(metadata.resourceVersion, 'metadata.resourceVersion', 'User');
  if (!resourceVersion) {
    fail(
      text(
        422,
        `users.iam.kubesphere.io "${name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`,
      ),
    );
  }
  if (resourceVersion !== current.metadata.resourceVersion) {
    fail(
      text(
        409,
        `Operation cannot be fulfilled on users.iam.kubesphere.io "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      ),
    );
  }
  const annotations = stringMapField(metadata.annotations, 'metadata.annotations', 'User') ?? {};
  const labels = stringMapField(metadata.labels, 'metadata.labels', 'User');
  const email = stringField(spec.email, 'spec.email', 'User') ?? '';
  const lang = stringField(spec.lang, 'spec.lang', 'User');
  checkEmail(ctx, name, email);

  const currentRole = controllers.globalRoleOf(name);
  const requestedRole = annotations[GLOBAL_ROLE];
  current.metadata = {
    ...current.metadata,
    labels,
    annotations: { ...annotations, ...(currentRole ? { [GLOBAL_ROLE]: currentRole } : {}) },
    finalizers: current.status.state ? ['finalizers.kubesphere.io/users'] : undefined,
    resourceVersion: state.nextVersion(),
  };
  if (!labels) delete current.metadata.labels;
  // A full replace: a lang left out of the body is cleared.
  const { lang: _previous, ...keptSpec } = current.spec;
  current.spec = { ...keptSpec, email, ...(lang ? { lang } : {}) };
  const requestedState = stringField(status.state, 'status.state', 'User');
  if ((requestedState === 'Active' || requestedState === 'Disabled') && requestedState !== current.status.state) {
    current.status = { ...current.status, state: requestedState, lastTransitionTime: state.timestamp() };
  }
  // The role change comes after the save: a refusal here leaves the other changes applied (§5).
  if (requestedRole && requestedRole !== currentRole) {
    if (!ctx.isAdmin)
      fail(text(403, `user.iam.kubesphere.io "${name}" is forbidden: update global role binding is not allowed`));
    if (!state.data.globalRoles.includes(requestedRole))
      fail(text(404, `GlobalRole.iam.kubesphere.io "${requestedRole}" not found`));
    controllers.bindGlobalRole(name, requestedRole);
  }
  return json(200, publicUser(current));
}

/** The users.iam.kubesphere.io validating webhook: parseable and unique among other users (§3). */
function checkEmail(ctx: RequestContext, name: string, email: string): void {
  if (email === '') return;
  const prefix = 'admission webhook "users.iam.kubesphere.io" denied the request';
  if (!parseEmailAddress(email)) fail(text(403, `${prefix}: invalid email address:${email}`));
  const taken = Object.values(ctx.state.data.users).some((u) => u.spec.email === email && u.metadata.name !== name);
  if (taken) fail(text(403, `${prefix}: user email: ${email} already exists`));
}
