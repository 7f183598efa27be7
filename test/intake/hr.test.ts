import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { decodeFirst } from '../../src/temporal/data-converter.js';
import { SA, stateQuery, type OnboardingState } from '../../src/workflows/definitions.js';
import { eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { genericHireBody, newWebhookSecret, signGeneric } from '../helpers/hr-vendors.js';
import { intakeHarness, today } from '../helpers/intake.js';
import { peopleState } from '../helpers/kubesphere-state.js';
import { runCli } from '../helpers/cli.js';
import { decodedHistory, failureOf, OPS, temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

let t: TemporalHarness;
let h: EmulatorHarness;

beforeAll(async () => {
  t = await temporalHarness();
  h = await startEmulator();
});
afterAll(async () => {
  await h.close();
  await t.close();
});

/** How the intake names a delivery without an id in its logs, computed here independently. */
const sha256Prefix = (body: string) => createHash('sha256').update(body).digest('hex').slice(0, 16);

const mine = (username: string) =>
  peopleState(h).filter((line) => line.includes(` ${username} `) || line.endsWith(` ${username}`));

describe('HR intake: a signed new hire', () => {
  it('starts exactly one onboarding that completes with a least-privilege placement', async () => {
    const x = await intakeHarness(t, h.emulator.url);
    try {
      await x.worker.runUntil(async () => {
        const res = await x.deliver({ username: 'hana.ito', email: 'hana.ito@example.com' });
        expect(res.status).toBe(202);
        const body = (await res.json()) as {
          workflowId: string;
          statusUrl: string;
          lifecycle: string;
          eventId: string;
        };
        expect(body.workflowId).toBe(`${x.prefix}onboard-hana.ito`);
        expect(body.statusUrl).toBe(`/v1/onboardings/${encodeURIComponent(body.workflowId)}`);
        const handle = t.client.workflow.getHandle(body.workflowId);
        const state = (await handle.result()) as OnboardingState;
        expect(state.lifecycle).toBe('done');
        expect(state.requestedBy).toBe('hr:generic');
        expect(mine('hana.ito')).toEqual([
          'member host/payments-web hana.ito viewer',
          'member payments hana.ito payments-regular',
          'user hana.ito hana.ito@example.com platform-regular',
        ]);
        // Labels for operators: the vendor and the event in search attributes, the delivery id in the memo.
        const description = await handle.describe();
        expect(description.searchAttributes['OnboardingSource']).toEqual(['hr:generic']);
        expect(description.searchAttributes['OnboardingEventId']).toEqual([body.eventId]);
        expect((await description.memo) ?? {}).toMatchObject({ source: 'hr:generic', eventId: body.eventId });
        expect(((description.memo ?? {}) as { deliveryId?: string }).deliveryId).toMatch(/^msg_/);
        // Status: lifecycle and steps, no email.
        const status = await x.status(body.workflowId);
        expect(status.status).toBe(200);
        const text = await status.text();
        expect(JSON.parse(text)).toMatchObject({ workflowId: body.workflowId, lifecycle: 'done', status: 'COMPLETED' });
        expect(text).not.toContain('@example.com');
        expect(await x.workflows()).toEqual([body.workflowId]);
      });
    } finally {
      await x.close();
    }
  });

  it('answers each bad delivery with its status and starts nothing; one log line each, with the delivery id, never a secret', async () => {
    const x = await intakeHarness(t, h.emulator.url);
    try {
      await x.worker.runUntil(async () => {
        const body = genericHireBody({
          eventId: 'bad-1',
          department: 'Payments',
          team: 'Payments Web',
          startDate: today(),
        });
        const now = Math.floor(Date.now() / 1000);
        const signed = (id: string, b = body, timestamp = now, secret = x.secret) =>
          signGeneric(secret, b, { id, timestamp });
        const big = 'x'.repeat(70_000);
        const missing = genericHireBody({ eventId: 'bad-2', email: 'not-an-email', startDate: '2026-02-30' });
        const unknown = genericHireBody({ eventId: 'bad-3', department: 'Sales', startDate: today() });
        // [what, answer, status, how its log line names it: the webhook-id, else the body's digest]
        const cases: [string, Promise<Response>, number, Record<string, string>][] = [
          ['no signature', x.post('/v1/hr/events', body), 401, { bodyDigest: sha256Prefix(body) }],
          [
            'wrong secret',
            x.post('/v1/hr/events', body, signed('msg_bad_secret', body, now, newWebhookSecret())),
            401,
            { deliveryId: 'msg_bad_secret' },
          ],
          [
            'tampered body',
            x.post('/v1/hr/events', body.replace('Payments Web', 'Payments API'), signed('msg_bad_tampered')),
            401,
            { deliveryId: 'msg_bad_tampered' },
          ],
          [
            'old timestamp',
            x.post('/v1/hr/events', body, signed('msg_bad_old', body, now - 600)),
            401,
            { deliveryId: 'msg_bad_old' },
          ],
          [
            'future timestamp',
            x.post('/v1/hr/events', body, signed('msg_bad_new', body, now + 600)),
            401,
            { deliveryId: 'msg_bad_new' },
          ],
          [
            'unknown vendor',
            x.post('/v1/hr/workday', body, signed('msg_bad_vendor')),
            404,
            { deliveryId: 'msg_bad_vendor' },
          ],
          [
            'wrong content type',
            x.post('/v1/hr/events', body, { ...signed('msg_bad_type'), 'content-type': 'text/plain' }),
            415,
            { deliveryId: 'msg_bad_type' },
          ],
          ['oversized', x.post('/v1/hr/events', big, signed('msg_bad_size', big)), 413, { deliveryId: 'msg_bad_size' }],
          [
            'malformed JSON',
            x.post('/v1/hr/events', '{"type":', signed('msg_bad_json', '{"type":')),
            400,
            { deliveryId: 'msg_bad_json' },
          ],
          [
            'bad fields',
            x.post('/v1/hr/events', missing, signed('msg_bad_fields', missing)),
            400,
            { deliveryId: 'msg_bad_fields' },
          ],
          [
            'unknown department',
            x.post('/v1/hr/events', unknown, signed('msg_bad_place', unknown)),
            422,
            { deliveryId: 'msg_bad_place' },
          ],
        ];
        const texts = new Map<string, string>();
        for (const [what, response, status] of cases) {
          const res = await response;
          const text = await res.text();
          texts.set(what, text);
          expect({ what, status: res.status }).toEqual({ what, status });
          expect(text).not.toContain(x.secret.slice(6, 20));
        }
        const problems = (JSON.parse(texts.get('bad fields')!) as { problems: { field: string }[] }).problems;
        expect(problems.map((p) => p.field)).toContain('data.startDate');
        expect((JSON.parse(texts.get('unknown department')!) as { error: string }).error).toBe(
          'the hire cannot be placed: department "Sales" is not in the placement mapping',
        );
        // One line per refusal, with its status and the delivery id (or, without one, the body's digest).
        const refused = x.logged('HR delivery refused');
        for (const [what, , status, label] of cases) {
          const own = refused.filter((line) => Object.entries(label).every(([key, value]) => line[key] === value));
          expect({ what, lines: own.map((line) => line.status) }).toEqual({ what, lines: [status] });
          expect(own[0]).toMatchObject({ level: 40, reason: expect.any(String) });
        }
        expect(refused).toHaveLength(cases.length);
        expect(x.logs.join('\n')).not.toContain(x.secret.slice(6, 20));
        expect(await x.neverStarted('ada.lovelace')).toBe(true);
        expect(await x.workflows()).toEqual([]);
      });
    } finally {
      await x.close();
    }
  });

  it('turns 50 concurrent deliveries of one event into one onboarding; a later delivery after it ended starts nothing', async () => {
    const x = await intakeHarness(t, h.emulator.url);
    try {
      await x.worker.runUntil(async () => {
        const body = genericHireBody({
          eventId: 'dup-1',
          username: 'dup.person',
          email: 'dup@example.com',
          department: 'Search',
          team: 'Search UI',
          startDate: today(),
        });
        const headers = signGeneric(x.secret, body, { id: 'msg_dup', timestamp: Math.floor(Date.now() / 1000) });
        const answers = await Promise.all(
          Array.from({ length: 50 }, () =>
            x
              .post('/v1/hr/events', body, headers)
              .then(async (r) => ({ status: r.status, body: (await r.json()) as { workflowId: string } })),
          ),
        );
        expect(
          answers.filter((a) => a.status !== 200),
          JSON.stringify(answers.filter((a) => a.status !== 200)),
        ).toHaveLength(1);
        expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
        expect(answers.filter((a) => a.status === 200)).toHaveLength(49);
        expect(new Set(answers.map((a) => a.body.workflowId))).toEqual(new Set([`${x.prefix}onboard-dup.person`]));
        await t.client.workflow.getHandle(`${x.prefix}onboard-dup.person`).result();
        // Days later, as a vendor's retry would: found by its event id, nothing started.
        await eventually(async () => {
          const again = await x.post(
            '/v1/hr/events',
            body,
            signGeneric(x.secret, body, { id: 'msg_dup2', timestamp: Math.floor(Date.now() / 1000) }),
          );
          expect(again.status).toBe(200);
          expect(await again.json()).toMatchObject({ duplicate: true, workflowId: `${x.prefix}onboard-dup.person` });
        });
        const runs: string[] = [];
        for await (const w of t.client.workflow.list({ query: `WorkflowId = "${x.prefix}onboard-dup.person"` }))
          runs.push(w.runId);
        expect(runs).toHaveLength(1);
        expect(mine('dup.person')).toHaveLength(3);
      });
    } finally {
      await x.close();
    }
  });

  it('reports a second, different hire event for a person in flight (409), never merges it', async () => {
    const x = await intakeHarness(t, h.emulator.url, { leadTimeMs: 0 });
    try {
      await x.worker.runUntil(async () => {
        const first = await x.deliver({ username: 'two.events', email: 'two@example.com', startDate: today(10) });
        expect(first.status).toBe(202);
        expect(await first.json()).toMatchObject({ lifecycle: 'scheduled' });
        const second = await x.deliver({
          username: 'two.events',
          email: 'two@example.com',
          startDate: today(10),
          team: 'Payments API',
        });
        expect(second.status).toBe(409);
        const conflict = (await second.json()) as { error: string; workflowId: string };
        expect(conflict.workflowId).toBe(`${x.prefix}onboard-two.events`);
        expect(conflict.error).toMatch(/already running HR event "generic:evt-/);
        await t.client.workflow.getHandle(`${x.prefix}onboard-two.events`).cancel();
      });
    } finally {
      await x.close();
    }
  });

  it('accepts the old and the new secret during a rotation, and refuses a removed one', async () => {
    const old = newWebhookSecret();
    const current = newWebhookSecret();
    const x = await intakeHarness(t, h.emulator.url, { secrets: { generic: [current, old] } });
    try {
      await x.worker.runUntil(async () => {
        expect((await x.deliver({ username: 'rot.old', email: 'rot.old@example.com' }, { secret: old })).status).toBe(
          202,
        );
        expect(
          (await x.deliver({ username: 'rot.new', email: 'rot.new@example.com' }, { secret: current })).status,
        ).toBe(202);
        expect(
          (await x.deliver({ username: 'rot.gone', email: 'rot.gone@example.com' }, { secret: x.secret })).status,
        ).toBe(401);
        expect(await x.neverStarted('rot.gone')).toBe(true);
      });
    } finally {
      await x.close();
    }
  });

  it('waits, scheduled, until the start date less the lead time, then provisions', async () => {
    // Provisioned 4 s from now: the start date is tomorrow, the lead time all of the wait but 4 s.
    const tomorrow = today(1);
    const leadTimeMs = Date.parse(`${tomorrow}T00:00:00Z`) - Date.now() - 4_000;
    const x = await intakeHarness(t, h.emulator.url, { leadTimeMs });
    try {
      await x.worker.runUntil(async () => {
        const res = await x.deliver({ username: 'later.hire', email: 'later@example.com', startDate: tomorrow });
        expect(res.status).toBe(202);
        const body = (await res.json()) as { workflowId: string; lifecycle: string; scheduledFor: string };
        expect(body.lifecycle).toBe('scheduled');
        const handle = t.client.workflow.getHandle(body.workflowId);
        expect((await handle.query(stateQuery)).lifecycle).toBe('scheduled');
        expect(mine('later.hire')).toEqual([]);
        const described = await handle.describe();
        expect(described.searchAttributes['OnboardingState']).toEqual(['scheduled']);
        const meta = (await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
        expect(meta.currentDetails).toMatch(
          new RegExp(
            `^scheduled: provisioned at ${body.scheduledFor.replace(/[.]/g, '\\.')} \\(the start date less the lead time\\)`,
          ),
        );
        // The wait is a durable timer, with a summary the Web UI shows.
        expect(await decodedHistory(await handle.fetchHistory())).toContain('the start date less the lead time');
        const state = (await handle.result()) as OnboardingState;
        expect(state.lifecycle).toBe('done');
        expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(body.scheduledFor));
        expect(mine('later.hire')).toHaveLength(3);
      });
    } finally {
      await x.close();
    }
  });

  it('asks for an approval of an elevated role at once, due when the hire is provisioned', async () => {
    const x = await intakeHarness(t, h.emulator.url, { leadTimeMs: 0 });
    try {
      await x.worker.runUntil(async () => {
        const start = today(5);
        const res = await x.deliver({
          username: 'api.dev',
          email: 'api.dev@example.com',
          team: 'Payments API',
          startDate: start,
        });
        expect(res.status).toBe(202);
        const body = (await res.json()) as {
          workflowId: string;
          lifecycle: string;
          awaitingApproval: string[];
          scheduledFor: string;
        };
        expect(body.lifecycle).toBe('awaiting-approval');
        expect(body.awaitingApproval).toEqual(['project:operator on host/payments-api']);
        const handle = t.client.workflow.getHandle(body.workflowId);
        const state = await handle.query(stateQuery);
        expect(state.approval?.deadline).toBe(`${start}T00:00:00.000Z`);
        expect(state.scheduledFor).toBe(`${start}T00:00:00.000Z`);
        const meta = (await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
        expect(meta.currentDetails).toBe(
          `waiting for approval of project:operator on host/payments-api until ${start}T00:00:00.000Z; provisioned at ${start}T00:00:00.000Z (by a platform-admin, or that workspace's admin, other than hr:generic and api.dev: ks-onboard approve ${body.workflowId})`,
        );
        // Approved by a platform-admin: it then waits for its date.
        await t.decide(x.taskQueue, handle, true, OPS, 'team lead asked');
        await eventually(async () => expect((await handle.query(stateQuery)).lifecycle).toBe('scheduled'));
        expect(mine('api.dev')).toEqual([]);
        // A new hire who will not start after all: cancelled, nothing in KubeSphere.
        await handle.cancel();
        await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
        expect((await handle.query(stateQuery)).lifecycle).toBe('cancelled');
        expect((await handle.describe()).searchAttributes['OnboardingState']).toEqual(['cancelled']);
        expect(await (await x.status(handle.workflowId)).json()).toMatchObject({
          status: 'CANCELLED',
          lifecycle: 'cancelled',
        });
        expect(mine('api.dev')).toEqual([]);
      });
    } finally {
      await x.close();
    }
  });

  it('derives the username from the work email when the body gives none', async () => {
    const x = await intakeHarness(t, h.emulator.url);
    try {
      await x.worker.runUntil(async () => {
        const res = await x.deliver({ username: undefined, email: 'Zoe.Kim@example.com' });
        expect(res.status).toBe(202);
        const { workflowId } = (await res.json()) as { workflowId: string };
        expect(workflowId).toBe(`${x.prefix}onboard-zoe.kim`);
        await t.client.workflow.getHandle(workflowId).result();
        expect(mine('zoe.kim')).toContain('user zoe.kim Zoe.Kim@example.com platform-regular');
        const refused = await x.deliver({ username: undefined, email: "o'brien@example.com" });
        expect(refused.status).toBe(422);
        expect(((await refused.json()) as { error: string }).error).toMatch(/o'brien@example\.com/);
      });
    } finally {
      await x.close();
    }
  });

  it('says what it does not take: a vendor with no secret, a start date long past, a wrong token', async () => {
    const x = await intakeHarness(t, h.emulator.url);
    try {
      await x.worker.runUntil(async () => {
        const bamboo = await x.post('/v1/hr/bamboohr', '{}', {
          'x-bamboohr-signature': 'ab',
          'x-bamboohr-timestamp': '1',
        });
        expect(bamboo.status).toBe(404);
        expect(await bamboo.json()).toEqual({
          error: 'bamboohr deliveries are not taken here: no secret is configured for it (KS_ONBOARD_BAMBOOHR_SECRETS)',
        });
        const old = await x.deliver({ username: 'long.ago', email: 'long.ago@example.com', startDate: today(-120) });
        expect(old.status).toBe(422);
        expect(((await old.json()) as { error: string }).error).toMatch(/is more than 90 days ago: not a new hire/);
        expect(await x.neverStarted('long.ago')).toBe(true);
        const wrong = await x.status(`${x.prefix}onboard-x`, 'not-the-token-not-the-token-x');
        expect(await wrong.json()).toEqual({ error: 'the bearer token is not valid' });
        expect(await x.workflows()).toEqual([]);
      });
    } finally {
      await x.close();
    }
  });

  it('acknowledges other event types (202) and acts on none, with one log line saying so', async () => {
    const x = await intakeHarness(t, h.emulator.url);
    try {
      await x.worker.runUntil(async () => {
        const res = await x.deliver({ username: 'leaver' }, { type: 'employee.terminated', id: 'msg_leaver' });
        expect(res.status).toBe(202);
        expect(await res.json()).toMatchObject({ ignored: true, type: 'employee.terminated' });
        const lines = x.logged().filter((line) => line.deliveryId === 'msg_leaver');
        expect(lines).toEqual([
          expect.objectContaining({
            level: 30,
            msg: 'HR delivery ignored: not a hire',
            vendor: 'generic',
            deliveryId: 'msg_leaver',
            eventType: 'employee.terminated',
            ignored: true,
            status: 202,
          }),
        ]);
        expect(await x.neverStarted('leaver')).toBe(true);
        expect(await x.workflows()).toEqual([]);
      });
    } finally {
      await x.close();
    }
  });

  it('keeps the status endpoint behind its bearer token', async () => {
    const x = await intakeHarness(t, h.emulator.url);
    try {
      await x.worker.runUntil(async () => {
        expect((await x.status(`${x.prefix}onboard-nobody`, 'wrong-token-wrong-token-wrong')).status).toBe(401);
        expect((await fetch(`${x.intake.url}/v1/onboardings/x`)).status).toBe(401);
        expect((await x.status(`${x.prefix}onboard-nobody`)).status).toBe(404);
        expect((await x.status('change-role-someone')).status).toBe(404);
        // HR's token reads HR's onboardings only: one asked for in ks-onboard is not there for it.
        const { handle } = await t.propose(x.taskQueue, {
          username: 'cli.person',
          email: 'cli.person@example.com',
          workspace: 'search',
        });
        await handle.result();
        expect((await x.status(handle.workflowId)).status).toBe(404);
        expect((await fetch(`${x.intake.url}/healthz`)).status).toBe(200);
        expect((await fetch(`${x.intake.url}/readyz`)).status).toBe(200);
      });
    } finally {
      await x.close();
    }
  });
});

describe('HR deliveries as an attacker would send them straight to Temporal', () => {
  it('refuses an unsigned or altered delivery, and a request beyond what the delivery says', async () => {
    const x = await intakeHarness(t, h.emulator.url);
    try {
      await x.worker.runUntil(async () => {
        const body = genericHireBody({
          eventId: 'forged-1',
          username: 'mallory',
          email: 'mallory@example.com',
          department: 'Payments',
          team: 'Payments Web',
          startDate: today(),
        });
        const genuine = signGeneric(x.secret, body, { id: 'msg_f', timestamp: Math.floor(Date.now() / 1000) });
        const source = (headers: Record<string, string>, b = body) => ({
          kind: 'hr',
          vendor: 'generic',
          eventId: 'generic:forged-1',
          delivery: { headers, body: b },
          receiptId: 'r-1',
        });
        const asked = {
          username: 'mallory',
          email: 'mallory@example.com',
          globalRole: 'platform-regular',
          workspace: 'payments',
          project: 'payments-web',
        };
        const start = (input: object) =>
          t.client.workflow.start('onboardUser', {
            taskQueue: x.taskQueue,
            workflowId: `${x.prefix}onboard-mallory`,
            args: [input],
            workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          });

        const unsigned = await failureOf(
          await start({ ...asked, source: source({ ...genuine, 'webhook-signature': 'v1,AAAA' }) }),
        );
        expect(unsigned.type).toBe('DeliveryRefused');
        expect(unsigned.message).toMatch(/signature does not hold/);

        const elevated = await failureOf(
          await start({ ...asked, workspaceRole: 'admin', globalRole: 'platform-admin', source: source(genuine) }),
        );
        expect(elevated.type).toBe('DeliveryRefused');
        expect(elevated.message).toMatch(/globalRole.*platform-regular/);

        const elsewhere = await failureOf(
          await start({ ...asked, workspace: 'search', project: 'search-ui', source: source(genuine) }),
        );
        expect(elsewhere.type).toBe('DeliveryRefused');
        expect(mine('mallory')).toEqual([]);
      });
    } finally {
      await x.close();
    }
  });

  it('refuses a replay: a delivery signed long before its run, or an event another run already onboarded', async () => {
    const x = await intakeHarness(t, h.emulator.url);
    try {
      await x.worker.runUntil(async () => {
        const res = await x.deliver({ username: 'replayed', email: 'replayed@example.com' });
        const { workflowId } = (await res.json()) as { workflowId: string };
        await t.client.workflow.getHandle(workflowId).result();
        // The genuine input, as anyone reading history sees it, started again from a raw client.
        const history = await t.client.workflow.getHandle(workflowId).fetchHistory();
        const input = await decodeFirst<Record<string, unknown>>(
          t.client.options.loadedDataConverter,
          history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads! as Payload[],
        );
        const again = await t.client.workflow.start('onboardUser', {
          taskQueue: x.taskQueue,
          workflowId,
          args: [input],
        });
        const once = await failureOf(again);
        expect(once.type).toBe('DuplicateDelivery');
        expect(once.message).toMatch(/onboarded already by .*onboard-replayed.*a delivery is acted on once/);

        // A delivery signed 30 minutes ago, started by a raw client (the intake would answer 401).
        const body = genericHireBody({
          eventId: 'old-1',
          username: 'late',
          email: 'late@example.com',
          department: 'Payments',
          team: 'Payments Web',
          startDate: today(),
        });
        const old = signGeneric(x.secret, body, { id: 'msg_old', timestamp: Math.floor(Date.now() / 1000) - 1800 });
        const late = await t.client.workflow.start('onboardUser', {
          taskQueue: x.taskQueue,
          workflowId: `${x.prefix}onboard-late`,
          args: [
            {
              username: 'late',
              email: 'late@example.com',
              globalRole: 'platform-regular',
              workspace: 'payments',
              source: {
                kind: 'hr',
                vendor: 'generic',
                eventId: 'generic:old-1',
                delivery: { headers: old, body },
                receiptId: 'r',
              },
            },
          ],
        });
        const stale = await failureOf(late);
        expect(stale.type).toBe('DeliveryRefused');
        expect(stale.message).toMatch(/signed too long before this run started/);
        expect(mine('late')).toEqual([]);
      });
    } finally {
      await x.close();
    }
  });

  it('is not fooled by a decoy labelled with a future event id', async () => {
    const x = await intakeHarness(t, h.emulator.url);
    try {
      await x.worker.runUntil(async () => {
        await t.client.workflow.start('decoy', {
          taskQueue: `${x.taskQueue}-nobody`,
          workflowId: `${x.prefix}onboard-decoy`,
          typedSearchAttributes: [{ key: SA.eventId, value: `generic:evt-${x.taskQueue}-1` }],
        });
        const res = await x.deliver({ username: 'real.hire', email: 'real.hire@example.com' });
        expect(res.status).toBe(202);
        expect(await res.json()).toMatchObject({ workflowId: `${x.prefix}onboard-real.hire` });
        await t.client.workflow.getHandle(`${x.prefix}onboard-real.hire`).result();
        await t.client.workflow.getHandle(`${x.prefix}onboard-decoy`).terminate();
      });
    } finally {
      await x.close();
    }
  });

  it('asks an approval for an explicit placement the mapping does not give that department', async () => {
    const x = await intakeHarness(t, h.emulator.url);
    try {
      await x.worker.runUntil(async () => {
        const res = await x.deliver({
          username: 'side.door',
          email: 'side.door@example.com',
          department: 'Search',
          team: undefined,
          workspace: 'payments',
        });
        expect(res.status).toBe(202);
        const answer = (await res.json()) as { lifecycle: string; awaitingApproval: string[]; workflowId: string };
        expect(answer.lifecycle).toBe('awaiting-approval');
        expect(answer.awaitingApproval).toEqual(['workspace:regular on payments']);
        await t.client.workflow.getHandle(answer.workflowId).cancel();
        expect(mine('side.door')).toEqual([]);
      });
    } finally {
      await x.close();
    }
  });

  it('applies the policy as it is when a scheduled hire is provisioned', async () => {
    const tomorrow = today(1);
    const leadTimeMs = Date.parse(`${tomorrow}T00:00:00Z`) - Date.now() - 4_000;
    const x = await intakeHarness(t, h.emulator.url, { leadTimeMs });
    try {
      const workflowId = `${x.prefix}onboard-policy.changed`;
      await x.worker.runUntil(async () => {
        const res = await x.deliver({ username: 'policy.changed', email: 'pc@example.com', startDate: tomorrow });
        expect(await res.json()).toMatchObject({ workflowId, lifecycle: 'scheduled' });
      });
      // While it waits, the workers are redeployed with payments protected.
      const stricter = await t.worker(x.taskQueue, h.emulator.url, { protectedWorkspaces: ['payments'] }, undefined, {
        hr: x.hr,
      });
      const failure = await stricter.runUntil(failureOf(t.client.workflow.getHandle(workflowId)));
      expect(failure.message).toMatch(/"payments" is protected/);
      expect(mine('policy.changed')).toEqual([]);
    } finally {
      await x.close();
    }
  });

  it('lets the next delivery try again after a refusal, and refuses start dates years ahead', async () => {
    const x = await intakeHarness(t, h.emulator.url, { workerHr: null });
    try {
      const body = genericHireBody({
        eventId: 'retry-1',
        username: 'second.try',
        email: 'second.try@example.com',
        department: 'Payments',
        team: 'Payments Web',
        startDate: today(),
      });
      const send = () =>
        x.post(
          '/v1/hr/events',
          body,
          signGeneric(x.secret, body, { id: `msg_${Math.random()}`, timestamp: Math.floor(Date.now() / 1000) }),
        );
      await x.worker.runUntil(async () => {
        const refused = await send();
        expect(`${refused.status} ${await refused.text()}`).toMatch(/^422 .*takes no HR deliveries/);
      });
      const fixed = await t.worker(x.taskQueue, h.emulator.url, {}, undefined, { hr: x.hr });
      await fixed.runUntil(async () => {
        await eventually(async () => {
          const again = await send();
          expect(`${again.status} ${await again.text()}`).toMatch(/^202 /);
        });
        await t.client.workflow.getHandle(`${x.prefix}onboard-second.try`).result();
        const far = await x.deliver({ username: 'far.future', email: 'far@example.com', startDate: '9999-12-31' });
        expect(far.status).toBe(422);
        expect(await far.json()).toMatchObject({ error: 'the start date 9999-12-31 is more than 366 days ahead' });
        expect(await x.neverStarted('far.future')).toBe(true);
      });
      expect(mine('second.try')).toHaveLength(3);
    } finally {
      await x.close();
    }
  });

  it('is refused by a worker that takes no HR deliveries', async () => {
    const x = await intakeHarness(t, h.emulator.url, { workerHr: null });
    try {
      await x.worker.runUntil(async () => {
        const res = await x.deliver({ username: 'no.hr', email: 'no.hr@example.com' });
        expect(res.status).toBe(422);
        expect(await res.text()).toMatch(/takes no HR deliveries/);
        expect(mine('no.hr')).toEqual([]);
      });
    } finally {
      await x.close();
    }
  });
});

describe('HR intake: after the answer', () => {
  it('logs a refusal the worker gives after the intake answered 202 pending (no worker polled in time)', async () => {
    const x = await intakeHarness(t, h.emulator.url, { workerHr: null });
    try {
      const workflowId = `${x.prefix}onboard-late.refusal`;
      // No worker polls the task queue yet: the intake acknowledges after 5 s with the workflow id alone.
      const res = await x.deliver({ username: 'late.refusal', email: 'late.refusal@example.com' }, { id: 'msg_late' });
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ workflowId, lifecycle: 'pending' });
      expect(x.logged().filter((line) => line.late)).toEqual([]);
      // The worker (one that takes no HR deliveries) answers now: the vendor has its 202 and will not hear it.
      await x.worker.runUntil(() =>
        eventually(() => expect(x.logged().filter((line) => line.late)).toHaveLength(1), 30_000),
      );
      const [line] = x.logged().filter((l) => l.late);
      expect(line).toMatchObject({
        level: 40,
        msg: expect.stringMatching(/^HR delivery refused by the worker after the intake acknowledged it/),
        vendor: 'generic',
        deliveryId: 'msg_late',
        workflowId,
        eventId: expect.stringMatching(/^generic:evt-/),
        reason: { type: 'DeliveryRefused', message: expect.stringMatching(/takes no HR deliveries/) },
      });
      expect(JSON.stringify(line)).not.toMatch(/@example\.com|whsec_/);
      expect(mine('late.refusal')).toEqual([]);
    } finally {
      await x.close();
    }
  });

  it('logs a conflict found after the intake answered 202 pending: another hire event runs for that person', async () => {
    const x = await intakeHarness(t, h.emulator.url, { leadTimeMs: 0 });
    try {
      const workflowId = `${x.prefix}onboard-late.conflict`;
      const hire = { username: 'late.conflict', email: 'late.conflict@example.com', startDate: today(10) };
      await x.worker.runUntil(async () => {
        const first = await x.deliver(hire);
        expect(await first.json()).toMatchObject({ workflowId, lifecycle: 'scheduled' });
      });
      // A different event for the same person, while no worker polls: acknowledged as pending.
      const second = await x.deliver({ ...hire, team: 'Payments API' }, { id: 'msg_conflict' });
      expect(second.status).toBe(202);
      expect(await second.json()).toMatchObject({ workflowId, lifecycle: 'pending' });
      const next = await t.worker(x.taskQueue, h.emulator.url, {}, undefined, { hr: x.hr });
      await next.runUntil(async () => {
        await eventually(() => expect(x.logged().filter((line) => line.late)).toHaveLength(1), 30_000);
        await t.client.workflow.getHandle(workflowId).cancel();
      });
      const [line] = x.logged().filter((l) => l.late);
      expect(line).toMatchObject({
        level: 40,
        msg: expect.stringMatching(/^HR delivery conflicts with the request running for that person/),
        vendor: 'generic',
        deliveryId: 'msg_conflict',
        workflowId,
        reason: { type: 'RequestConflict', message: expect.stringMatching(/already running HR event "generic:evt-/) },
      });
      expect(JSON.stringify(line)).not.toContain('@example.com');
    } finally {
      await x.close();
    }
  });

  it('finds an event delivered again after a later request for the same person ran: 200, and no new run', async () => {
    const x = await intakeHarness(t, h.emulator.url);
    try {
      await x.worker.runUntil(async () => {
        const workflowId = `${x.prefix}onboard-same.person`;
        const handle = t.client.workflow.getHandle(workflowId);
        const event = (eventId: string, team: string, department: string) =>
          genericHireBody({
            eventId,
            username: 'same.person',
            email: 'same.person@example.com',
            department,
            team,
            startDate: today(),
          });
        const send = (body: string, id: string) =>
          x.post('/v1/hr/events', body, signGeneric(x.secret, body, { id, timestamp: Math.floor(Date.now() / 1000) }));
        const a = event(`iso-a-${x.taskQueue}`, 'Payments Web', 'Payments');
        expect((await send(a, 'msg_a1')).status).toBe(202);
        await handle.result();
        // Then a different hire event for the same person, after A closed: a run of its own, which completes.
        const b = event(`iso-b-${x.taskQueue}`, 'Search UI', 'Search');
        expect((await send(b, 'msg_b1')).status).toBe(202);
        await handle.result();
        const { runId: latest } = await handle.describe();
        const runs = await eventually(async () => {
          const listed = await x.runsOf(workflowId);
          expect(listed).toHaveLength(2);
          return listed;
        });
        expect(runs[0]).toBe(latest);
        // A again, days later as a vendor's retry: the latest run is B's, so only the event id finds A's.
        const again = await send(a, 'msg_a2');
        expect(again.status).toBe(200);
        expect(await again.json()).toMatchObject({
          duplicate: true,
          workflowId,
          eventId: `generic:iso-a-${x.taskQueue}`,
        });
        expect((await handle.describe()).runId).toBe(latest);
        expect(await x.runsOf(workflowId)).toEqual(runs);
      });
    } finally {
      await x.close();
    }
  });

  it('refuses a hire whose username belongs to another KubeSphere user: ResourceMismatch on the email, shown scrubbed', async () => {
    await h.admin.createUser({ name: 'ada', email: 'ada@old.example.com' });
    const seeded = mine('ada');
    expect(seeded).toEqual([expect.stringMatching(/^user ada ada@old\.example\.com/)]);
    const x = await intakeHarness(t, h.emulator.url);
    try {
      await x.worker.runUntil(async () => {
        // No username in the body: derived from the work email, as for every vendor.
        const res = await x.deliver({ username: undefined, email: 'Ada@example.com' });
        expect(res.status).toBe(202);
        const { workflowId } = (await res.json()) as { workflowId: string };
        expect(workflowId).toBe(`${x.prefix}onboard-ada`);
        const failure = await failureOf(t.client.workflow.getHandle(workflowId));
        expect(failure.type).toBe('ResourceMismatch');
        expect(failure.message).toContain(
          'user ada already exists but differs: email is "ada@old.example.com", requested "Ada@example.com"',
        );
        const status = await x.status(workflowId);
        expect(status.status).toBe(200);
        const text = await status.text();
        expect(JSON.parse(text)).toMatchObject({
          workflowId,
          status: 'FAILED',
          lifecycle: 'failed',
          error: expect.stringContaining(
            'user ada already exists but differs: email is "<email>", requested "<email>"',
          ),
        });
        expect(text).not.toMatch(/example\.com/i);
        // The other person's account is as it was, and the hire was given nothing.
        expect(mine('ada')).toEqual(seeded);
      });
    } finally {
      await x.close();
    }
  });

  it('ks-onboard cancel onboard-<username> ends a scheduled hire: cancelled, KubeSphere untouched', async () => {
    const x = await intakeHarness(t, h.emulator.url);
    try {
      await x.worker.runUntil(async () => {
        const res = await x.deliver({ username: 'no.show', email: 'no.show@example.com', startDate: today(10) });
        expect(res.status).toBe(202);
        const { workflowId, lifecycle } = (await res.json()) as { workflowId: string; lifecycle: string };
        expect(lifecycle).toBe('scheduled');
        const before = { people: peopleState(h), writes: writesTo(h) };
        const cancelled = await runCli(['cancel', 'onboard-no.show'], {
          TEMPORAL_ADDRESS: t.address,
          KS_ONBOARD_TASK_QUEUE: x.taskQueue,
          KS_ONBOARD_WORKFLOW_ID_PREFIX: x.prefix,
        });
        expect(cancelled.code, cancelled.output).toBe(0);
        expect(cancelled.output).toContain(`${workflowId}: cancelled (was scheduled)`);
        const handle = t.client.workflow.getHandle(workflowId);
        expect((await handle.describe()).status.name).toBe('CANCELLED');
        expect(await (await x.status(workflowId)).json()).toMatchObject({
          status: 'CANCELLED',
          lifecycle: 'cancelled',
        });
        expect((await handle.query(stateQuery)).lifecycle).toBe('cancelled');
        // Nothing created, nothing deleted or changed: KubeSphere received no write at all.
        expect({ people: peopleState(h), writes: writesTo(h) }).toEqual(before);
        expect(mine('no.show')).toEqual([]);
      });
    } finally {
      await x.close();
    }
  });
});

/** The emulator's write requests so far, by route (logins aside). */
function writesTo(harness: EmulatorHarness): Record<string, number> {
  return Object.fromEntries(
    Object.entries(harness.emulator.requests.byRoute).filter(
      ([route]) => !route.startsWith('GET ') && route !== 'POST /oauth/token',
    ),
  );
}
