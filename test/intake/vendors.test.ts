import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HireEventResult } from '../../src/workflows/hire-event.js';
import type { OnboardingState } from '../../src/workflows/definitions.js';
import { eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import {
  bambooHrEventBody,
  bambooHrFieldsBody,
  hiBobEventBody,
  signBambooHr,
  signHiBob,
  startHrVendorStandIn,
  STAND_IN_CREDENTIALS,
  type HrVendorStandIn,
} from '../helpers/hr-vendors.js';
import { intakeHarness, today } from '../helpers/intake.js';
import { peopleState } from '../helpers/kubesphere-state.js';
import { failureOf, temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

let t: TemporalHarness;
let h: EmulatorHarness;
let vendors: HrVendorStandIn;

beforeAll(async () => {
  t = await temporalHarness();
  h = await startEmulator();
  vendors = await startHrVendorStandIn();
});
afterAll(async () => {
  await vendors.close();
  await h.close();
  await t.close();
});

const BAMBOO_SECRET = 'bamboo-private-key-0123456789abcdef0123';
const BOB_SECRET = 'bob-webhook-secret-0123456789abcdef0123';

function harness() {
  return intakeHarness(t, h.emulator.url, {
    secrets: { bamboohr: [BAMBOO_SECRET], hibob: [BOB_SECRET] },
    api: {
      bamboohr: { baseUrl: vendors.bambooHrUrl, apiKey: STAND_IN_CREDENTIALS.bamboohr.apiKey },
      hibob: {
        baseUrl: vendors.url,
        serviceUserId: STAND_IN_CREDENTIALS.hibob.serviceUserId,
        token: STAND_IN_CREDENTIALS.hibob.token,
      },
    },
  });
}

const mine = (username: string) => peopleState(h).filter((line) => line.includes(` ${username} `));
/** How the intake names a vendor's delivery (no id of its own) in its logs, computed here independently. */
const sha256Prefix = (body: string) => createHash('sha256').update(body).digest('hex').slice(0, 16);

/**
 * Every workflow the harness's task queue started, one entry per run, once visibility shows `expected`: exactly
 * these, so a valid delivery started one run of each and nothing else.
 */
async function runsAre(x: Awaited<ReturnType<typeof harness>>, expected: string[]) {
  await eventually(async () => expect(await x.workflows()).toEqual([...expected].sort()), 10_000);
}

describe('HR vendors end to end', () => {
  it('HiBob: a delivery naming only the employee reads the record from Bob, then onboards; a retry starts nothing', async () => {
    const x = await harness();
    vendors.employees.set('7001', {
      id: '7001',
      firstName: 'Bea',
      lastName: 'Moreau',
      email: 'Bea.Moreau@example.com',
      department: 'Search',
      startDate: today(),
    });
    try {
      await x.worker.runUntil(async () => {
        const body = hiBobEventBody({ employeeId: '7001', triggeredAt: new Date().toISOString().slice(0, 23) });
        const res = await x.post('/v1/hr/hibob', body, signHiBob(BOB_SECRET, body));
        // Bob counts anything but 200 as a failed delivery, and retries it.
        expect(res.status).toBe(200);
        const answer = (await res.json()) as { workflowId: string; lifecycle: string };
        expect(answer.workflowId).toMatch(new RegExp(`^${x.prefix.replace('.', '\\.')}hr-hibob-`));
        expect(answer.lifecycle).toBe('reading-record');
        const lookup = t.client.workflow.getHandle(answer.workflowId);
        const result = (await lookup.result()) as HireEventResult;
        expect(result.onboardingWorkflowId).toBe(`${x.prefix}onboard-bea.moreau`);
        const state = (await t.client.workflow.getHandle(result.onboardingWorkflowId).result()) as OnboardingState;
        expect(state.lifecycle).toBe('done');
        expect(mine('bea.moreau')).toEqual([
          'member search bea.moreau search-regular',
          'user bea.moreau Bea.Moreau@example.com platform-regular',
        ]);
        // Bob retries the same body: the lookup's id is the event's, nothing starts again.
        const again = await x.post('/v1/hr/hibob', body, signHiBob(BOB_SECRET, body));
        expect(again.status).toBe(200);
        expect(await again.json()).toMatchObject({ duplicate: true, workflowId: result.onboardingWorkflowId });
        // The record was read by the lookup and again by the onboarding, which trusts no one's reading but its own.
        expect(vendors.count('hibob')).toBe(2);
        // One lookup and one onboarding for the event, the retry included.
        await runsAre(x, [answer.workflowId, result.onboardingWorkflowId]);
        expect(x.logged('HR delivery').map((line) => [line.status, line.bodyDigest])).toEqual([
          [200, sha256Prefix(body)],
          [200, sha256Prefix(body)],
        ]);
        // Status through the lookup's id names the onboarding it proposed.
        const status = (await (await x.status(answer.workflowId)).json()) as { onboardingWorkflowId: string };
        expect(status.onboardingWorkflowId).toBe(result.onboardingWorkflowId);
      });
    } finally {
      await x.close();
    }
  });

  it('BambooHR: an event webhook is read through the API, retried while the API is down', async () => {
    const x = await harness();
    vendors.employees.set('8001', {
      id: '8001',
      firstName: 'Cai',
      lastName: 'Lin',
      email: 'cai.lin@example.com',
      department: 'Payments',
      startDate: today(),
    });
    vendors.state.failWith.bamboohr = 503;
    try {
      await x.worker.runUntil(async () => {
        const body = bambooHrEventBody({ employeeId: '8001', timestamp: new Date().toISOString() });
        const stamp = String(Math.floor(Date.now() / 1000));
        const res = await x.post('/v1/hr/bamboohr', body, signBambooHr(BAMBOO_SECRET, body, stamp));
        expect(res.status).toBe(202);
        const { workflowId } = (await res.json()) as { workflowId: string };
        await new Promise((resolve) => setTimeout(resolve, 1500));
        expect(vendors.count('bamboohr')).toBeGreaterThan(0);
        vendors.state.failWith.bamboohr = undefined;
        const result = (await t.client.workflow.getHandle(workflowId).result()) as HireEventResult;
        await t.client.workflow.getHandle(result.onboardingWorkflowId).result();
        await runsAre(x, [workflowId, result.onboardingWorkflowId]);
        expect(mine('cai.lin')).toEqual([
          'member payments cai.lin payments-regular',
          'user cai.lin cai.lin@example.com platform-regular',
        ]);
      });
    } finally {
      vendors.state.failWith.bamboohr = undefined;
      await x.close();
    }
  });

  it('BambooHR: a field webhook with every field is a full hire; an unknown employee fails the lookup, naming why', async () => {
    const x = await harness();
    try {
      await x.worker.runUntil(async () => {
        const body = bambooHrFieldsBody([
          {
            id: '9001',
            action: 'Created',
            fields: {
              'First Name': 'Dee',
              'Last Name': 'Okoro',
              'Work Email': 'dee.okoro@example.com',
              Department: 'Payments',
              'Hire Date': today(),
            },
          },
        ]);
        const stamp = String(Math.floor(Date.now() / 1000));
        const res = await x.post('/v1/hr/bamboohr', body, signBambooHr(BAMBOO_SECRET, body, stamp));
        expect(res.status).toBe(202);
        const { workflowId } = (await res.json()) as { workflowId: string };
        expect(workflowId).toBe(`${x.prefix}onboard-dee.okoro`);
        await t.client.workflow.getHandle(workflowId).result();
        expect(mine('dee.okoro')).toHaveLength(2);

        const missing = bambooHrEventBody({ employeeId: '404404', timestamp: new Date().toISOString() });
        const refused = await x.post('/v1/hr/bamboohr', missing, signBambooHr(BAMBOO_SECRET, missing, stamp));
        expect(refused.status).toBe(202);
        const lookup = ((await refused.json()) as { workflowId: string }).workflowId;
        const failure = await failureOf(t.client.workflow.getHandle(lookup));
        expect(failure.type).toBe('DeliveryRefused');
        expect(failure.message).not.toContain(STAND_IN_CREDENTIALS.bamboohr.apiKey);
        // One onboarding for the full hire; for the unknown employee, its lookup alone (it found no one to onboard).
        await runsAre(x, [workflowId, lookup]);
      });
    } finally {
      await x.close();
    }
  });

  it("HiBob: answers Bob's connection test 200 and starts nothing, signed or not; a signature on it must hold", async () => {
    const x = await harness();
    try {
      await x.worker.runUntil(async () => {
        const reads = vendors.count('hibob');
        // As Bob's docs describe it: the text first, then (if that failed) the JSON.
        const text = 'Ping test';
        const json = '{"text":"Ping test"}';
        const tests: [string, string, Record<string, string>, boolean][] = [
          ['text, unsigned', text, { 'content-type': 'text/plain' }, false],
          ['text, signed', text, { 'content-type': 'text/plain; charset=utf-8', ...signHiBob(BOB_SECRET, text) }, true],
          ['JSON, unsigned', json, {}, false],
          ['JSON, signed', json, signHiBob(BOB_SECRET, json), true],
        ];
        for (const [what, body, headers, signed] of tests) {
          const res = await x.post('/v1/hr/hibob', body, headers);
          expect({ what, status: res.status }).toEqual({ what, status: 200 });
          expect(await res.json()).toEqual({ connectionTest: true, signed, started: 'nothing' });
        }
        // Signed with another secret (one mistyped in Bob): refused, so the setup shows it.
        const wrong = await x.post('/v1/hr/hibob', json, signHiBob('not-the-webhook-secret-0123456789', json));
        expect(wrong.status).toBe(401);
        // Anything more than the test's text is a delivery like any other: unsigned, refused.
        const more = JSON.stringify({ text: 'Ping test', type: 'employee.joined' });
        expect((await x.post('/v1/hr/hibob', more)).status).toBe(401);

        const answered = x.logged('HiBob connection test');
        expect(answered.map((line) => [line.status, line.signed, line.bodyDigest, line.connectionTest])).toEqual(
          tests.map(([, body, , signed]) => [200, signed, sha256Prefix(body), true]),
        );
        expect(x.logged('HR delivery refused').map((line) => [line.status, line.bodyDigest])).toEqual([
          [401, sha256Prefix(json)],
          [401, sha256Prefix(more)],
        ]);
        expect(await x.workflows()).toEqual([]);
        expect(vendors.count('hibob')).toBe(reads);
      });
    } finally {
      await x.close();
    }
  });

  it('logs each refused or ignored vendor delivery once, named by its body digest (the vendors send no id)', async () => {
    const x = await harness();
    try {
      await x.worker.runUntil(async () => {
        const stamp = String(Math.floor(Date.now() / 1000));
        const updated = bambooHrEventBody({ type: 'employee.updated', employeeId: '8101', timestamp: stamp });
        const left = hiBobEventBody({ type: 'employee.left', triggeredAt: new Date().toISOString().slice(0, 23) });
        const notJson = '{"employees": [';
        const unsignedBob = hiBobEventBody({ employeeId: '8102' });
        const cases: [string, Promise<Response>, number, string][] = [
          [
            'BambooHR, wrong key',
            x.post('/v1/hr/bamboohr', updated, signBambooHr('not-the-private-key', updated, stamp)),
            401,
            updated,
          ],
          [
            'BambooHR, not JSON',
            x.post('/v1/hr/bamboohr', notJson, signBambooHr(BAMBOO_SECRET, notJson, stamp)),
            400,
            notJson,
          ],
          [
            'BambooHR, form post',
            x.post('/v1/hr/bamboohr', 'a=1', {
              'content-type': 'application/x-www-form-urlencoded',
              ...signBambooHr(BAMBOO_SECRET, 'a=1', stamp),
            }),
            415,
            'a=1',
          ],
          ['HiBob, unsigned', x.post('/v1/hr/hibob', unsignedBob), 401, unsignedBob],
        ];
        for (const [what, response, status] of cases)
          expect({ what, status: (await response).status }).toEqual({ what, status });
        const refused = x.logged('HR delivery refused');
        for (const [what, , status, body] of cases)
          expect({
            what,
            lines: refused.filter((l) => l.bodyDigest === sha256Prefix(body)).map((l) => l.status),
          }).toEqual({
            what,
            lines: [status],
          });
        expect(refused).toHaveLength(cases.length);

        // Events that are not hires: acknowledged (HiBob: 200), one line each saying so.
        const bamboo = await x.post('/v1/hr/bamboohr', updated, signBambooHr(BAMBOO_SECRET, updated, stamp));
        expect(bamboo.status).toBe(202);
        const bob = await x.post('/v1/hr/hibob', left, signHiBob(BOB_SECRET, left));
        expect(bob.status).toBe(200);
        expect(await bob.json()).toMatchObject({ ignored: true, type: 'employee.left' });
        expect(x.logged('HR delivery ignored')).toEqual([
          expect.objectContaining({
            vendor: 'bamboohr',
            bodyDigest: sha256Prefix(updated),
            eventType: 'employee.updated',
            ignored: true,
            status: 202,
          }),
          expect.objectContaining({
            vendor: 'hibob',
            bodyDigest: sha256Prefix(left),
            eventType: 'employee.left',
            ignored: true,
            status: 200,
          }),
        ]);
        expect(await x.workflows()).toEqual([]);
      });
    } finally {
      await x.close();
    }
  });
});
