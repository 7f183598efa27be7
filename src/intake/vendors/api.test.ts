import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  STAND_IN_CREDENTIALS,
  startHrVendorStandIn,
  type HrVendorStandIn,
  type StandInEmployee,
} from '../../../test/helpers/hr-vendors.js';
import { VendorRecordError, VendorUnavailableError, createVendorApi, type VendorApiConfig } from './api.js';

const GRACE: StandInEmployee = {
  id: '67890',
  firstName: 'Grace',
  lastName: 'Hopper',
  email: 'grace.hopper@example.com',
  department: 'Research',
  startDate: '2026-04-01',
};
const BOB_ID = '3332883854254932743';
const ref = (employeeId: string) => ({ eventId: `evt-${employeeId}`, employeeId });

const { apiKey } = STAND_IN_CREDENTIALS.bamboohr;
const { serviceUserId, token } = STAND_IN_CREDENTIALS.hibob;
const SECRETS = [
  apiKey,
  token,
  Buffer.from(`${apiKey}:x`).toString('base64'),
  Buffer.from(`${serviceUserId}:${token}`).toString('base64'),
];

let standIn: HrVendorStandIn;
let config: VendorApiConfig;
let api: ReturnType<typeof createVendorApi>;

beforeAll(async () => {
  standIn = await startHrVendorStandIn([GRACE, { ...GRACE, id: BOB_ID }]);
  config = {
    bamboohr: { baseUrl: standIn.bambooHrUrl, apiKey },
    hibob: { baseUrl: standIn.url, serviceUserId, token },
  };
  api = createVendorApi(config, { requestTimeoutMs: 2_000 });
});

afterAll(async () => {
  await api.close();
  await standIn.close();
});

afterEach(() => {
  Object.assign(standIn.state, { failWith: {}, retryAfter: undefined, hibobStyle: 'nested', delayMs: 0 });
  standIn.state.oversizeBytes = undefined;
});

async function failure(attempt: Promise<unknown>): Promise<Error> {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (!error) throw new Error('expected the call to fail');
  for (const secret of SECRETS) {
    expect(error.message).not.toContain(secret);
    expect(String(error.stack)).not.toContain(secret);
  }
  return error;
}

describe('BambooHR API', () => {
  it('reads the record with the API key as Basic user name, future-dated values included, as a hire', async () => {
    await expect(api.fetchHire('bamboohr', ref('67890'))).resolves.toEqual({
      eventId: 'evt-67890',
      employeeId: '67890',
      firstName: 'Grace',
      lastName: 'Hopper',
      email: 'grace.hopper@example.com',
      department: 'Research',
      startDate: '2026-04-01',
    });
    const asked = standIn.state.log.at(-1)!;
    expect(asked).toMatchObject({
      vendor: 'bamboohr',
      method: 'GET',
      path: '/api/gateway.php/acme/v1/employees/67890',
    });
    expect(asked.authorized).toBe(true);
    expect(asked.asked).toEqual({ fields: 'firstName,lastName,workEmail,department,hireDate', onlyCurrent: 'false' });
  });

  it('refuses, for good, an employee that does not exist', async () => {
    const error = await failure(api.fetchHire('bamboohr', ref('404404')));
    expect(error).toBeInstanceOf(VendorRecordError);
    expect(error.message).toBe('BambooHR has no readable employee 404404 (HTTP 404)');
  });

  it('refuses, for good, a record without the fields a hire needs, naming them', async () => {
    standIn.employees.set('8', { id: '8', firstName: 'Alan', lastName: 'Turing', department: 'Research' });
    const error = await failure(api.fetchHire('bamboohr', ref('8')));
    expect(error).toBeInstanceOf(VendorRecordError);
    expect((error as VendorRecordError).fields).toEqual(['workEmail', 'hireDate']);
    expect(error.message).toBe(
      "BambooHR employee 8 has no workEmail, hireDate (or the API key's user may not see it: check that user's access level)",
    );
  });

  it('refuses, for good, a record whose hire date is no date, without quoting the record', async () => {
    standIn.employees.set('9', { ...GRACE, id: '9', startDate: '2026-02-30' });
    const error = await failure(api.fetchHire('bamboohr', ref('9')));
    expect(error).toBeInstanceOf(VendorRecordError);
    expect(error.message).toBe('BambooHR employee 9 cannot make a hire: hireDate is not a calendar date');
  });

  it.each([500, 502, 503])('reports %i as unavailable: worth a retry', async (status) => {
    standIn.state.failWith = { bamboohr: status };
    const error = await failure(api.fetchHire('bamboohr', ref('67890')));
    expect(error).toBeInstanceOf(VendorUnavailableError);
    expect((error as VendorUnavailableError).status).toBe(status);
    expect(error.message).toBe(`BambooHR answered HTTP ${status}`);
  });

  it('reports 429 as unavailable, with its Retry-After', async () => {
    standIn.state.failWith = { bamboohr: 429 };
    standIn.state.retryAfter = '30';
    const error = (await failure(api.fetchHire('bamboohr', ref('67890')))) as VendorUnavailableError;
    expect(error).toBeInstanceOf(VendorUnavailableError);
    expect(error.retryAfterMs).toBe(30_000);
  });

  it('reports refused credentials as unavailable (someone can fix them), never quoting them', async () => {
    const wrong = createVendorApi({ bamboohr: { baseUrl: standIn.bambooHrUrl, apiKey: 'wrong-key-123' } });
    try {
      const error = await failure(wrong.fetchHire('bamboohr', ref('67890')));
      expect(error).toBeInstanceOf(VendorUnavailableError);
      expect(error.message).toMatch(/^BambooHR refused the API credentials \(HTTP 401\)/);
      expect(error.message).not.toContain('wrong-key-123');
    } finally {
      await wrong.close();
    }
  });
});

describe('HiBob API', () => {
  it.each(['nested', 'slash'] as const)(
    'reads the record as the service user, the department by name (%s fields)',
    async (style) => {
      standIn.state.hibobStyle = style;
      await expect(api.fetchHire('hibob', ref(BOB_ID))).resolves.toEqual({
        eventId: `evt-${BOB_ID}`,
        employeeId: BOB_ID,
        firstName: 'Grace',
        lastName: 'Hopper',
        email: 'grace.hopper@example.com',
        department: 'Research',
        startDate: '2026-04-01',
      });
      const asked = standIn.state.log.at(-1)!;
      expect(asked).toMatchObject({ vendor: 'hibob', method: 'POST', path: `/v1/people/${BOB_ID}`, authorized: true });
      expect(asked.asked).toEqual({
        fields: ['root.firstName', 'root.surname', 'root.email', 'work.department', 'work.startDate'],
        humanReadable: 'APPEND',
      });
    },
  );

  it('refuses, for good, an unknown employee and a record Bob left fields out of, with the permission hint', async () => {
    expect(await failure(api.fetchHire('hibob', ref('1')))).toBeInstanceOf(VendorRecordError);
    standIn.employees.set('2', { ...GRACE, id: '2', email: null, startDate: null });
    const error = (await failure(api.fetchHire('hibob', ref('2')))) as VendorRecordError;
    expect(error).toBeInstanceOf(VendorRecordError);
    expect(error.fields).toEqual(['root.email', 'work.startDate']);
    expect(error.message).toMatch(/^HiBob employee 2 has no root\.email, work\.startDate \(.*grant View/);
  });

  it('reports 500 and refused credentials as unavailable, never quoting the token', async () => {
    standIn.state.failWith = { hibob: 500 };
    expect(await failure(api.fetchHire('hibob', ref(BOB_ID)))).toBeInstanceOf(VendorUnavailableError);
    standIn.state.failWith = {};
    const wrong = createVendorApi({ hibob: { baseUrl: standIn.url, serviceUserId, token: 'stale-token-987' } });
    try {
      const error = await failure(wrong.fetchHire('hibob', ref(BOB_ID)));
      expect(error).toBeInstanceOf(VendorUnavailableError);
      expect((error as VendorUnavailableError).status).toBe(401);
      expect(error.message).not.toContain('stale-token-987');
    } finally {
      await wrong.close();
    }
  });
});

describe('the API client', () => {
  it('gives up on a slow answer at its deadline', async () => {
    standIn.state.delayMs = 1_000;
    const quick = createVendorApi(config, { requestTimeoutMs: 100 });
    try {
      const error = await failure(quick.fetchHire('bamboohr', ref('67890')));
      expect(error).toBeInstanceOf(VendorUnavailableError);
      expect(error.message).toBe('BambooHR did not answer within 100 ms');
    } finally {
      await quick.close();
    }
  });

  it('refuses an answer larger than its cap rather than holding it', async () => {
    standIn.state.oversizeBytes = 64 * 1024;
    const small = createVendorApi(config, { maxResponseBytes: 16 * 1024 });
    try {
      const error = await failure(small.fetchHire('hibob', ref(BOB_ID)));
      expect(error).toBeInstanceOf(VendorUnavailableError);
      expect(error.message).toBe("HiBob's answer is larger than 16384 bytes; refused");
    } finally {
      await small.close();
    }
  });

  it('reports an API it cannot reach as unavailable', async () => {
    const closed = await startHrVendorStandIn();
    const url = closed.bambooHrUrl;
    await closed.close();
    const offline = createVendorApi({ bamboohr: { baseUrl: url, apiKey } });
    try {
      const error = await failure(offline.fetchHire('bamboohr', ref('67890')));
      expect(error).toBeInstanceOf(VendorUnavailableError);
      expect(error.message).toMatch(/^could not reach BambooHR \(.*ECONNREFUSED.*\)$/);
    } finally {
      await offline.close();
    }
  });

  it('asks nothing for an id that could leave the API path, nor of a vendor it has no credentials for', async () => {
    const before = standIn.state.log.length;
    expect(await failure(api.fetchHire('bamboohr', ref('../meta')))).toBeInstanceOf(VendorRecordError);
    const unconfigured = await failure(createVendorApi({}).fetchHire('hibob', ref(BOB_ID)));
    // The worker's settings change only with a restart: refused at once, naming them, not retried.
    expect(unconfigured).toBeInstanceOf(VendorRecordError);
    expect(unconfigured.message).toContain('KS_ONBOARD_HIBOB_SERVICE_USER');
    expect(await failure(api.fetchHire('generic', ref('1')))).toBeInstanceOf(VendorRecordError);
    expect(standIn.state.log.length).toBe(before);
  });
});
