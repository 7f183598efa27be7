import { Agent, request, type Dispatcher } from 'undici';
import { hireEventSchema, type HireEvent, type HrVendor } from '../hire-event.js';
import type { VendorApi } from './types.js';

/**
 * Reads a new hire's record from the vendor's API, for webhooks that carry only ids. Runs in an activity:
 * VendorUnavailableError (network, timeout, 429, 5xx, refused credentials) is worth retrying, VendorRecordError
 * (no such employee, or a record without the fields a hire needs) is not. No message carries a credential, nor
 * any value of the record.
 */

export interface VendorApiConfig {
  /** base `https://api.bamboohr.com/api/gateway.php/<companyDomain>`; Basic auth, the API key as user name */
  bamboohr?: { baseUrl: string; apiKey: string };
  /** base `https://api.hibob.com`; Basic auth with a service user's id and token */
  hibob?: { baseUrl: string; serviceUserId: string; token: string };
}

export interface VendorApiOptions {
  /** injected for tests; by default one keep-alive Agent, closed by close() */
  dispatcher?: Dispatcher;
  /** whole-request deadline (default 10 s, below an activity's attempt timeout) */
  requestTimeoutMs?: number;
  /** larger answers are refused rather than held (default 1 MiB: one employee's record is a few hundred bytes) */
  maxResponseBytes?: number;
}

const VENDOR_NAMES: Record<HrVendor, string> = { generic: 'the generic webhook', bamboohr: 'BambooHR', hibob: 'HiBob' };

/** The record is missing or cannot make a hire: a retry would read the same. Names the vendor's fields. */
export class VendorRecordError extends Error {
  override readonly name = 'VendorRecordError';
  constructor(
    readonly vendor: HrVendor,
    readonly employeeId: string,
    message: string,
    /** the vendor's field names that are missing or wrong */
    readonly fields: readonly string[] = [],
  ) {
    super(message);
  }
}

/** The vendor's API could not answer now (or refused our credentials, which someone can fix): retry later. */
export class VendorUnavailableError extends Error {
  override readonly name = 'VendorUnavailableError';
  constructor(
    readonly vendor: HrVendor,
    message: string,
    readonly status?: number,
    /** from a 429's or 503's Retry-After, when it gave one */
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

type HireField = 'firstName' | 'lastName' | 'email' | 'department' | 'startDate';
type Values = Partial<Record<HireField, unknown>>;

// GET /v1/employees/{id}: https://documentation.bamboohr.com/reference/get-employee
const BAMBOOHR_FIELDS: Record<HireField, string> = {
  firstName: 'firstName',
  lastName: 'lastName',
  email: 'workEmail',
  department: 'department',
  startDate: 'hireDate',
};

// POST /v1/people/{id}: https://apidocs.hibob.com/reference/post_people-identifier
const HIBOB_FIELDS: Record<HireField, string> = {
  firstName: 'root.firstName',
  lastName: 'root.surname',
  email: 'root.email',
  department: 'work.department',
  startDate: 'work.startDate',
};

const EMPLOYEE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function createVendorApi(
  config: VendorApiConfig,
  options: VendorApiOptions = {},
): VendorApi & {
  close(): Promise<void>;
} {
  const ownsDispatcher = !options.dispatcher;
  const dispatcher =
    options.dispatcher ?? new Agent({ connections: 8, keepAliveTimeout: 30_000, connect: { timeout: 10_000 } });
  const http = {
    dispatcher,
    deadlineMs: options.requestTimeoutMs ?? 10_000,
    maxBytes: options.maxResponseBytes ?? 1 << 20,
  };

  return {
    async fetchHire(vendor, ref): Promise<HireEvent> {
      if (!EMPLOYEE_ID.test(ref.employeeId)) {
        throw new VendorRecordError(
          vendor,
          ref.employeeId,
          `${VENDOR_NAMES[vendor]}: an employee id is 1 to 64 letters, digits, "_" or "-"`,
        );
      }
      if (vendor === 'bamboohr') {
        const api = config.bamboohr;
        if (!api) throw notConfigured(vendor, 'KS_ONBOARD_BAMBOOHR_API_URL and KS_ONBOARD_BAMBOOHR_API_KEY');
        const url = new URL(`${api.baseUrl.replace(/\/+$/, '')}/v1/employees/${ref.employeeId}`);
        url.searchParams.set('fields', Object.values(BAMBOOHR_FIELDS).join(','));
        // A new hire's job information is usually dated on the hire date: only-current values would leave it out.
        url.searchParams.set('onlyCurrent', 'false');
        const record = await exchange(http, vendor, ref.employeeId, url, {
          method: 'GET',
          headers: { accept: 'application/json', authorization: basic(api.apiKey, 'x') },
        });
        return toHire(vendor, ref, pickBambooHr(record), BAMBOOHR_FIELDS);
      }
      if (vendor === 'hibob') {
        const api = config.hibob;
        if (!api) throw notConfigured(vendor, 'KS_ONBOARD_HIBOB_SERVICE_USER');
        const url = new URL(`${api.baseUrl.replace(/\/+$/, '')}/v1/people/${ref.employeeId}`);
        const record = await exchange(http, vendor, ref.employeeId, url, {
          method: 'POST',
          headers: {
            accept: 'application/json',
            'content-type': 'application/json',
            authorization: basic(api.serviceUserId, api.token),
          },
          // APPEND: list fields (department) as their names beside the machine values (dates stay ISO).
          body: JSON.stringify({ fields: Object.values(HIBOB_FIELDS), humanReadable: 'APPEND' }),
        });
        return toHire(vendor, ref, pickHiBob(record), HIBOB_FIELDS);
      }
      throw new VendorRecordError(
        vendor,
        ref.employeeId,
        `${VENDOR_NAMES[vendor]} carries the whole hire: nothing to read`,
      );
    },

    async close() {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

/** Not transient: the worker's settings change only with a restart, so the hire is refused, naming them. */
function notConfigured(vendor: HrVendor, variables: string): VendorRecordError {
  return new VendorRecordError(
    vendor,
    '',
    `no ${VENDOR_NAMES[vendor]} API is configured on this worker to read the hire's record: set ${variables}`,
  );
}

interface Http {
  dispatcher: Dispatcher;
  deadlineMs: number;
  maxBytes: number;
}

/** One request, its answer read whole (within the cap) and parsed; every failure as one of the two errors. */
async function exchange(
  http: Http,
  vendor: HrVendor,
  employeeId: string,
  url: URL,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
): Promise<unknown> {
  const name = VENDOR_NAMES[vendor];
  const signal = AbortSignal.timeout(http.deadlineMs);
  let text: string;
  let status: number;
  let retryAfter: string | string[] | undefined;
  try {
    const response = await request(url, { ...init, dispatcher: http.dispatcher, signal });
    status = response.statusCode;
    retryAfter = response.headers['retry-after'];
    if (status < 200 || status >= 300) {
      // Read and dropped (a little of it): destroying the body instead would surface an unhandled abort.
      await response.body.dump({ limit: 64 * 1024 });
      text = '';
    } else {
      text = await readCapped(response.body, http.maxBytes);
    }
  } catch (error) {
    if (error instanceof TooLarge) {
      throw new VendorUnavailableError(vendor, `${name}'s answer is larger than ${http.maxBytes} bytes; refused`);
    }
    if (signal.aborted) {
      throw new VendorUnavailableError(
        vendor,
        `${name} did not answer within ${http.deadlineMs} ms`,
        undefined,
        undefined,
        {
          cause: error,
        },
      );
    }
    throw new VendorUnavailableError(vendor, `could not reach ${name} (${errorCode(error)})`, undefined, undefined, {
      cause: error,
    });
  }

  if (status === 400 || status === 404 || status === 410) {
    throw new VendorRecordError(vendor, employeeId, `${name} has no readable employee ${employeeId} (HTTP ${status})`);
  }
  if (status === 401 || status === 403) {
    throw new VendorUnavailableError(
      vendor,
      `${name} refused the API credentials (HTTP ${status}): check them and their permission to read employees`,
      status,
    );
  }
  if (status < 200 || status >= 300) {
    throw new VendorUnavailableError(vendor, `${name} answered HTTP ${status}`, status, retryAfterMs(retryAfter));
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new VendorUnavailableError(vendor, `${name} answered HTTP ${status} with a body that is not JSON`, status);
  }
}

class TooLarge extends Error {}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(error?: Error): unknown }, maxBytes: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) {
      const error = new TooLarge();
      body.destroy(error);
      throw error;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const cause = (error as { cause?: { code?: unknown } }).cause?.code;
  const codes = [code, cause].filter((c): c is string => typeof c === 'string' && /^[A-Z0-9_]{1,40}$/.test(c));
  return [...new Set(codes)].join('/') || 'network error';
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value || !/^\d{1,6}$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1000;
}

function asObject(record: unknown): Record<string, unknown> {
  return record !== null && typeof record === 'object' && !Array.isArray(record)
    ? (record as Record<string, unknown>)
    : {};
}

function pickBambooHr(record: unknown): Values {
  const fields = asObject(record);
  const values: Values = {};
  for (const [hire, field] of Object.entries(BAMBOOHR_FIELDS) as [HireField, string][]) values[hire] = fields[field];
  // BambooHR writes an empty date as 0000-00-00.
  if (values.startDate === '0000-00-00') values.startDate = undefined;
  return values;
}

/**
 * Bob answers fields under slash keys (`/work/department`), under nested categories (`work.department`, root
 * fields at the top), or both, a value sometimes wrapped as `{value}`; list fields are ids unless read from the
 * humanReadable node.
 */
function pickHiBob(record: unknown): Values {
  const employee = asObject(record);
  const readable = asObject(employee.humanReadable);
  const values: Values = {};
  for (const [hire, field] of Object.entries(HIBOB_FIELDS) as [HireField, string][]) {
    values[hire] =
      hire === 'department' ? (bobValue(readable, field) ?? bobValue(employee, field)) : bobValue(employee, field);
  }
  return values;
}

function bobValue(node: Record<string, unknown>, fieldId: string): unknown {
  const path = fieldId.split('.');
  const nestedPath = path[0] === 'root' ? path.slice(1) : path;
  let nested: unknown = node;
  for (const key of nestedPath) nested = Object.hasOwn(asObject(nested), key) ? asObject(nested)[key] : undefined;
  const slash = `/${path.join('/')}`;
  const value = Object.hasOwn(node, slash) ? node[slash] : nested;
  if (value !== null && typeof value === 'object' && 'value' in value) return (value as { value: unknown }).value;
  return value;
}

function toHire(
  vendor: HrVendor,
  ref: { eventId: string; employeeId: string },
  values: Values,
  names: Record<HireField, string>,
) {
  const name = VENDOR_NAMES[vendor];
  const missing = (Object.keys(names) as HireField[]).filter((field) => {
    const value = values[field];
    return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
  });
  if (missing.length) {
    const fields = missing.map((field) => names[field]);
    // Both vendors leave out, silently, a field the credentials may not see.
    const hint =
      vendor === 'hibob'
        ? ' (or the service user may not view it: grant View on its category)'
        : " (or the API key's user may not see it: check that user's access level)";
    throw new VendorRecordError(
      vendor,
      ref.employeeId,
      `${name} employee ${ref.employeeId} has no ${fields.join(', ')}${hint}`,
      fields,
    );
  }
  const result = hireEventSchema.safeParse({ eventId: ref.eventId, employeeId: ref.employeeId, ...values });
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path[0];
    const vendorField =
      typeof field === 'string' && field in names ? names[field as HireField] : String(field ?? 'record');
    return { vendorField, message: issue.message };
  });
  throw new VendorRecordError(
    vendor,
    ref.employeeId,
    `${name} employee ${ref.employeeId} cannot make a hire: ${problems.map((p) => `${p.vendorField} ${p.message}`).join('; ')}`,
    problems.map((p) => p.vendorField),
  );
}
