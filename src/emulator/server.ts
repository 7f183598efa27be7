import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controllers, type ControllerDelays } from './controllers.js';
import type { RequestContext } from './context.js';
import { z } from 'zod';
import { Faults, type FaultOptions } from './faults.js';
import { OAuth, type OAuthOptions } from './oauth.js';
import { METHOD_NOT_ALLOWED, PAGE_NOT_FOUND, ReplyError, errStatus, json, status, text, type Reply } from './reply.js';
import { ROUTES, Router, type RouteMatch } from './routes.js';
import { SEEDED_ACCOUNTS, seed } from './seed.js';
import { State, type ClusterInfo } from './state.js';
import { publicUser } from './users.js';

export interface EmulatorOptions {
  port?: number;
  host?: string;
  /** JSON file to reload the store from and save it to */
  stateFile?: string;
  /** cluster names; `host` is always present; `name:not-ready` makes a member answer 503 */
  clusters?: string[];
  delays?: Partial<ControllerDelays>;
  faults?: Partial<FaultOptions>;
  oauth?: Partial<OAuthOptions>;
  adminPassword?: string;
  now?: () => number;
}

export interface RequestCounts {
  total: number;
  byMethod: Record<string, number>;
  /** `METHOD template`, e.g. `POST /kapis/iam.kubesphere.io/v1beta1/users` */
  byRoute: Record<string, number>;
  /** API requests whose connection is still open */
  inFlight: number;
  /** API requests whose client closed the connection before the answer was written */
  clientAborted: number;
}

export interface Emulator {
  url: string;
  port: number;
  state: State;
  faults: Faults;
  requests: RequestCounts;
  snapshot(): ReturnType<typeof snapshot>;
  close(): Promise<void>;
}

export { SEEDED_ACCOUNTS } from './seed.js';

const OAUTH_PATHS = new Set(['/oauth/token', '/oauth/userinfo']);

export const DEFAULT_DELAYS: ControllerDelays = { userActivationMs: 300, workspaceRolesMs: 300, projectRolesMs: 300 };
const MAX_BODY = 1024 * 1024;

/** Starts a local ks-apiserver that follows kubesphere-api.md, over real HTTP. */
export async function createEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const now = options.now ?? Date.now;
  const clusters = parseClusters(options.clusters ?? ['host']);
  const state = new State(options.stateFile, now);
  const controllers = new Controllers(state, { ...DEFAULT_DELAYS, ...options.delays });
  const oauth = new OAuth(
    state,
    {
      clientId: 'kubesphere',
      clientSecret: 'kubesphere',
      accessTokenMaxAgeSec: 7200,
      refreshTokenMaxAgeSec: 9000,
      lockoutMaxTries: 10,
      lockoutWindowMs: 10 * 60_000,
      ...options.oauth,
    },
    now,
  );
  const faults = new Faults(options.faults);
  const router = new Router(ROUTES);
  const requests: RequestCounts = { total: 0, byMethod: {}, byRoute: {}, inFlight: 0, clientAborted: 0 };

  if (state.loadedFromFile) controllers.reconcileAll();
  else seed(state, controllers, options.adminPassword ?? SEEDED_ACCOUNTS.admin.password);

  const isAdmin = (user: string) => controllers.globalRoleOf(user) === 'platform-admin';

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = (req.method ?? 'GET').toUpperCase();
    if (url.pathname === '/_emulator/faults' && method === 'PUT') return write(res, setFaults(await readBody(req)));
    if (url.pathname.startsWith('/_emulator/')) return write(res, introspect(url.pathname));

    const { cluster, path } = splitCluster(url.pathname);
    const oauthPath = OAUTH_PATHS.has(path);
    const match = oauthPath ? undefined : router.match(method, path);
    const route = count(method, match ? match.template : oauthPath ? path : '(unmatched)');
    // Watched from here on, so tests can see that a client which gives up really closes its request.
    requests.inFlight += 1;
    let dropped = false;
    res.once('close', () => {
      requests.inFlight -= 1;
      if (!res.writableFinished && !dropped) requests.clientAborted += 1;
    });
    const drop = () => {
      dropped = true;
      req.socket.destroy();
    };

    await faults.delay();
    const verdict = faults.before(route);
    if (verdict === 'reset') return drop();
    if (verdict === 'fail') return write(res, text(500, 'Internal error occurred: injected fault'));

    const body = await readBody(req);
    if (body === undefined) return write(res, text(413, 'request body too large'));

    let reply: Reply;
    try {
      reply = dispatch(method, url, cluster, path, match, body, req);
    } catch (error) {
      if (!(error instanceof ReplyError)) throw error;
      reply = error.reply;
    }
    if (method !== 'GET') state.changed();
    // Creates and updates may lose their answer after being applied: a retry then meets "already exists".
    if ((method === 'POST' || method === 'PUT') && faults.dropAfterWrite()) return drop();
    write(res, reply);
  }

  function dispatch(
    method: string,
    url: URL,
    cluster: string | undefined,
    path: string,
    match: RouteMatch | undefined,
    body: string,
    req: IncomingMessage,
  ): Reply {
    const contentType = req.headers['content-type'];
    if (path === '/oauth/userinfo' && cluster === undefined) {
      // The authentication filter runs first (§1.3): a bad token is the usual 401 Status.
      const auth = oauth.authenticate(req.headers.authorization);
      if ('error' in auth) return status(401, auth.error);
      if (method !== 'GET') return METHOD_NOT_ALLOWED();
      return oauth.userinfo(auth);
    }
    if (path === '/oauth/token' && cluster === undefined) {
      if (method !== 'POST') return METHOD_NOT_ALLOWED();
      if (!contentType?.includes('application/x-www-form-urlencoded')) {
        return {
          status: 415,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          body: '415: Unsupported Media Type',
        };
      }
      return oauth.token(new URLSearchParams(body));
    }
    // Filter chain order (§1.3): authentication, then cluster dispatch, then authorization, then the route.
    const auth = oauth.authenticate(req.headers.authorization);
    if ('error' in auth) return status(401, auth.error);
    if (cluster !== undefined && cluster !== 'host') {
      const info = clusters.find((c) => c.name === cluster);
      if (!info) return errStatus(400, `cluster ${cluster} not exists`);
      if (!info.ready) return errStatus(503, `cluster ${cluster} is not ready`);
    }
    const user = 'user' in auth ? auth.user : 'system:anonymous';
    if ('anonymous' in auth) return forbidden(user, method, match);
    if (!match) return PAGE_NOT_FOUND();
    if (!match.route) return METHOD_NOT_ALLOWED();
    const admin = isAdmin(user);
    const selfService = match.route.self && match.params[match.route.resource.nameParam ?? ''] === user;
    if (!admin && !selfService) return forbidden(user, method, match);
    const ctx: RequestContext = {
      method,
      cluster: cluster ?? 'host',
      params: match.params,
      query: url.searchParams,
      rawBody: body,
      contentType,
      user,
      isAdmin: admin,
      state,
      controllers,
      clusters,
    };
    return match.route.handler(ctx);
  }

  /** Changes the faults of a running emulator (a drill turns them on once its import has started). */
  function setFaults(body: string | undefined): Reply {
    const parsed = faultsUpdate.safeParse(body ? safeJson(body) : undefined);
    if (!parsed.success)
      return text(
        400,
        `faults: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`,
      );
    faults.set(parsed.data);
    return json(200, parsed.data);
  }

  function introspect(path: string): Reply {
    if (path === '/_emulator/state') return json(200, snapshot(state));
    if (path === '/_emulator/requests') return json(200, requests);
    if (path === '/_emulator/health') return json(200, { ok: true });
    return PAGE_NOT_FOUND();
  }

  /** Counts a request; its route, as the counters and `failingRoutes` name it. */
  function count(method: string, template: string): string {
    requests.total += 1;
    requests.byMethod[method] = (requests.byMethod[method] ?? 0) + 1;
    const key = `${method} ${template}`;
    requests.byRoute[key] = (requests.byRoute[key] ?? 0) + 1;
    return key;
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) write(res, text(500, `emulator error: ${(error as Error).message}`));
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    state,
    faults,
    requests,
    snapshot: () => snapshot(state),
    async close() {
      controllers.stop();
      state.flush();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function forbidden(user: string, method: string, match: RouteMatch | undefined): Reply {
  const verbs: Record<string, string> = { POST: 'create', PUT: 'update', DELETE: 'delete', GET: 'get' };
  const resource = match?.route?.resource ?? ROUTES.find((r) => r.template === match?.template)?.resource;
  const group = resource?.group ?? '';
  const kind = resource?.resource ?? 'unknown';
  const name = resource?.nameParam ? match?.params[resource.nameParam] : undefined;
  const verb = method === 'GET' && !name ? 'list' : (verbs[method] ?? method.toLowerCase());
  const namespace = resource?.namespaceParam ? match?.params[resource.namespaceParam] : undefined;
  const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
  const subject = name ? `${kind}.${group} "${name}"` : `${kind}.${group}`;
  return status(
    403,
    `${subject} is forbidden: User "${user}" cannot ${verb} resource "${kind}" in API group "${group}" ${scope}`,
    { ...(name ? { name } : {}), group, kind },
  );
}

/** `/clusters/{c}/kapis/...` and `/kapis/clusters/{c}/...` (and /apis) select a cluster (§1.2). */
function splitCluster(pathname: string): { cluster: string | undefined; path: string } {
  const leading = /^\/clusters\/([^/]+)(\/(?:kapis|apis)\/.*)$/.exec(pathname);
  if (leading) return { cluster: decodeURIComponent(leading[1]!), path: leading[2]! };
  const inner = /^\/(kapis|apis)\/clusters\/([^/]+)(\/.*)$/.exec(pathname);
  if (inner) return { cluster: decodeURIComponent(inner[2]!), path: `/${inner[1]}${inner[3]}` };
  return { cluster: undefined, path: pathname };
}

function parseClusters(specs: string[]): ClusterInfo[] {
  const clusters: ClusterInfo[] = [{ name: 'host', ready: true }];
  for (const spec of specs) {
    const [name, flag] = spec.split(':');
    if (!name || name === 'host') continue;
    clusters.push({ name, ready: flag !== 'not-ready' });
  }
  return clusters;
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function write(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, reply.headers);
  res.end(reply.body);
}

/** What `snapshot()` and `GET /_emulator/state` answer. */
export type EmulatorSnapshot = ReturnType<typeof snapshot>;

/** A read-only view for tests and operators: every object, never a password. */
function snapshot(state: State) {
  const data = state.data;
  return {
    users: Object.fromEntries(
      Object.entries(data.users).map(([name, user]) => [
        name,
        { ...publicUser(user), hasPassword: Boolean(user.spec.password) },
      ]),
    ),
    globalRoleBindings: data.globalRoleBindings,
    workspaces: data.workspaces,
    workspaceRoles: data.workspaceRoles,
    workspaceRoleBindings: data.workspaceRoleBindings,
    namespaces: data.namespaces,
    roles: data.roles,
    roleBindings: data.roleBindings,
  };
}

const share = z.number().min(0).max(1);
/** What PUT /_emulator/faults may change: rates, latency and the dice's seed. */
const faultsUpdate = z.strictObject({
  latencyMs: z.number().int().min(0).max(60_000).optional(),
  failRate: share.optional(),
  resetRate: share.optional(),
  dropResponseRate: share.optional(),
  seed: z.number().int().min(0).optional(),
});

function safeJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}
