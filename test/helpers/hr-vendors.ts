import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Delivery } from '../../src/intake/hire-event.js';

/**
 * A local stand-in of the two HR APIs the worker reads (BambooHR's employee GET, Bob's people read), over
 * HTTP with an in-memory employee table, and the signing of deliveries as each vendor documents it. Written
 * from the vendors' documentation with node:crypto alone, never with the adapters' code: it is their oracle.
 */

export interface StandInEmployee {
  id: string;
  firstName?: string | null;
  lastName?: string | null;
  /** BambooHR's workEmail, Bob's root.email */
  email?: string | null;
  /** a name: Bob answers a list item's id, and the name under humanReadable */
  department?: string | null;
  /** YYYY-MM-DD: BambooHR's hireDate (0000-00-00 when empty), Bob's work.startDate */
  startDate?: string | null;
}

export interface StandInRequest {
  vendor: 'bamboohr' | 'hibob';
  method: string;
  path: string;
  authorized: boolean;
  /** what was asked: BambooHR's query, Bob's JSON body */
  asked: unknown;
}

export const STAND_IN_CREDENTIALS = {
  bamboohr: { companyDomain: 'acme', apiKey: 'bhr-api-key-0123456789abcdef' },
  hibob: { serviceUserId: 'SERVICE-4242', token: 'bob-token-QWERTYuiop1234567890' },
} as const;

export async function startHrVendorStandIn(initial: StandInEmployee[] = []) {
  const employees = new Map(initial.map((e) => [e.id, { ...e }]));
  const departmentIds = new Map<string, string>();
  const departmentId = (name: string) => {
    if (!departmentIds.has(name)) departmentIds.set(name, String(248_000_001 + departmentIds.size));
    return departmentIds.get(name)!;
  };
  const state = {
    employees,
    log: [] as StandInRequest[],
    /** every request to that vendor answers this status until it is set back to undefined */
    failWith: {} as { bamboohr?: number; hibob?: number },
    /** with failWith: the Retry-After header's value */
    retryAfter: undefined as string | undefined,
    /** how Bob writes fields: nested categories, or slash keys with values wrapped as {value} */
    hibobStyle: 'nested' as 'nested' | 'slash',
    /** waits this long before answering */
    delayMs: 0,
    /** answers a JSON body of at least this many bytes instead of the record */
    oversizeBytes: undefined as number | undefined,
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const body = await readBody(req);
    if (state.delayMs) await new Promise((resolve) => setTimeout(resolve, state.delayMs));
    const bamboo = /^\/api\/gateway\.php\/([^/]+)\/v1\/employees\/([^/]+)$/.exec(url.pathname);
    const bob = /^\/v1\/people\/([^/]+)$/.exec(url.pathname);
    const vendor = bamboo ? 'bamboohr' : bob ? 'hibob' : undefined;
    if (!vendor) return json(res, 404, { message: 'no such route' });
    const [user, password] = basicCredentials(req.headers.authorization);
    const authorized =
      vendor === 'bamboohr'
        ? user === STAND_IN_CREDENTIALS.bamboohr.apiKey // BambooHR ignores the password
        : user === STAND_IN_CREDENTIALS.hibob.serviceUserId && password === STAND_IN_CREDENTIALS.hibob.token;
    const asked = vendor === 'bamboohr' ? Object.fromEntries(url.searchParams) : safeJson(body);
    state.log.push({ vendor, method: req.method ?? '', path: url.pathname, authorized, asked });

    const failure = state.failWith[vendor];
    if (failure) {
      if (state.retryAfter) res.setHeader('retry-after', state.retryAfter);
      return json(res, failure, { message: 'stand-in failure' });
    }
    if (!authorized) return json(res, 401, { message: 'unauthorized' });
    if (state.oversizeBytes) return json(res, 200, { padding: 'x'.repeat(state.oversizeBytes) });

    if (bamboo) {
      if (req.method !== 'GET') return json(res, 405, {});
      if (bamboo[1] !== STAND_IN_CREDENTIALS.bamboohr.companyDomain) return json(res, 404, {});
      const employee = employees.get(decodeURIComponent(bamboo[2]!));
      if (!employee) return json(res, 404, {});
      const values: Record<string, unknown> = {
        firstName: employee.firstName ?? null,
        lastName: employee.lastName ?? null,
        workEmail: employee.email ?? null,
        department: employee.department ?? null,
        hireDate: employee.startDate ?? '0000-00-00',
      };
      const fields = (url.searchParams.get('fields') ?? '').split(',').filter(Boolean);
      return json(res, 200, { id: employee.id, ...Object.fromEntries(fields.map((f) => [f, values[f] ?? null])) });
    }

    if (req.method !== 'POST') return json(res, 405, {});
    const employee = employees.get(decodeURIComponent(bob![1]!));
    if (!employee) return json(res, 404, { error: 'Employee not found' });
    const request = (asked ?? {}) as { fields?: string[]; humanReadable?: string };
    const machine: Record<string, unknown> = {
      'root.id': employee.id,
      'root.firstName': employee.firstName,
      'root.surname': employee.lastName,
      'root.email': employee.email,
      'work.department': employee.department == null ? employee.department : departmentId(employee.department),
      'work.startDate': employee.startDate,
    };
    const readable: Record<string, unknown> = {
      ...machine,
      'work.department': employee.department,
      'work.startDate': employee.startDate?.split('-').reverse().join('/'),
    };
    // Bob leaves out what it has no value for (or the service user may not view).
    const pick = (from: Record<string, unknown>) =>
      Object.fromEntries((request.fields ?? []).filter((f) => from[f] != null).map((f) => [f, from[f]]));
    const render = state.hibobStyle === 'nested' ? nested : slashed;
    const record = request.humanReadable === 'REPLACE' ? render(pick(readable)) : render(pick(machine));
    if (request.humanReadable === 'APPEND') record.humanReadable = render(pick(readable));
    return json(res, 200, record);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    /** the employee table, by id */
    employees,
    /** switches: failWith, retryAfter, hibobStyle, delayMs, oversizeBytes; and the log of requests */
    state,
    /** KS_ONBOARD_BAMBOOHR_API_URL for this stand-in */
    bambooHrUrl: `${url}/api/gateway.php/${STAND_IN_CREDENTIALS.bamboohr.companyDomain}`,
    /** requests received for a vendor, answered or not */
    count(vendor: 'bamboohr' | 'hibob') {
      return state.log.filter((r) => r.vendor === vendor).length;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

export type HrVendorStandIn = Awaited<ReturnType<typeof startHrVendorStandIn>>;

function nested(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [id, value] of Object.entries(fields)) {
    const [category, field] = id.split('.') as [string, string];
    if (category === 'root') out[field] = value;
    else out[category] = { ...(out[category] as object | undefined), [field]: value };
  }
  return out;
}

function slashed(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([id, value]) => [`/${id.replace('.', '/')}`, { value }]));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function basicCredentials(header: string | undefined): [string?, string?] {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!match) return [];
  const text = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? [text] : [text.slice(0, colon), text.slice(colon + 1)];
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

// ---- signing, as each vendor documents it ------------------------------------------------------------------

/** A fresh Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** Standard Webhooks: base64 HMAC-SHA256, keyed with the secret's decoded bytes, of `id.timestamp.body`. */
export function signGeneric(secret: string, body: string, at: { id: string; timestamp: number }) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signature = createHmac('sha256', key).update(`${at.id}.${at.timestamp}.${body}`).digest('base64');
  return { 'webhook-id': at.id, 'webhook-timestamp': String(at.timestamp), 'webhook-signature': `v1,${signature}` };
}

/** BambooHR: hex HMAC-SHA256 of the raw body followed by the timestamp, keyed with the webhook's private key. */
export function signBambooHr(secret: string, body: string, timestamp: string) {
  const signature = createHmac('sha256', secret)
    .update(body + timestamp)
    .digest('hex');
  return { 'x-bamboohr-signature': signature, 'x-bamboohr-timestamp': timestamp };
}

/** Bob: base64 HMAC-SHA512 of the raw body, keyed with the webhook's secret. */
export function signHiBob(secret: string, body: string) {
  return { 'bob-signature': createHmac('sha512', secret).update(body).digest('base64') };
}

/** A delivery as the intake keeps it: lower-cased header names, the body untouched. */
export function delivery(headers: Record<string, string>, body: string): Delivery {
  return { headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])), body };
}

// ---- sample bodies ---------------------------------------------------------------------------------------------

export function genericHireBody(data: Record<string, unknown> = {}, type = 'employee.hired'): string {
  return JSON.stringify({
    type,
    timestamp: '2026-03-01T09:00:00Z',
    data: {
      eventId: 'evt-0001',
      employeeId: 'E-1001',
      username: 'ada.lovelace',
      email: 'ada.lovelace@example.com',
      firstName: 'Ada',
      lastName: 'Lovelace',
      department: 'Engineering',
      team: 'Platform',
      startDate: '2026-03-02',
      ...data,
    },
  });
}

/** An event-based BambooHR body (one event per delivery). */
export function bambooHrEventBody(
  event: { type?: string; employeeId?: string; companyId?: string; timestamp?: string } = {},
): string {
  return JSON.stringify({
    type: event.type ?? 'employee.created',
    timestamp: event.timestamp ?? '2026-01-31T18:42:00+0000',
    data: { companyId: event.companyId ?? '12345', employeeId: event.employeeId ?? '67890' },
  });
}

/** A field-based BambooHR body: one entry per employee, fields under BambooHR's English names. */
export function bambooHrFieldsBody(
  entries: { id: string; action?: string; fields?: Record<string, unknown>; changedFields?: string[] }[],
): string {
  return JSON.stringify({
    employees: entries.map((e) => ({
      id: e.id,
      ...(e.action ? { action: e.action } : {}),
      timestamp: '2026-01-31T18:42:00+0000',
      changedFields: e.changedFields ?? [],
      fields: e.fields ?? {},
    })),
  });
}

export const BAMBOOHR_POSTED_HIRE = {
  'First Name': 'Grace',
  'Last Name': 'Hopper',
  'Work Email': 'grace.hopper@example.com',
  Department: 'Research',
  'Hire Date': '2026-04-01',
};

/** A Bob webhooks v2 body. */
export function hiBobEventBody(
  event: { type?: string; employeeId?: string; companyId?: number; triggeredAt?: string; version?: string } = {},
): string {
  return JSON.stringify({
    companyId: event.companyId ?? 636192,
    type: event.type ?? 'employee.joined',
    triggeredBy: 'system',
    triggeredAt: event.triggeredAt ?? '2026-03-02T00:00:01.123456',
    version: event.version ?? 'v2',
    data: { employeeId: event.employeeId ?? '3332883854254932743' },
  });
}
