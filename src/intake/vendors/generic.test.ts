import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { delivery, genericHireBody, newWebhookSecret, signGeneric } from '../../../test/helpers/hr-vendors.js';
import { DeliveryError, type Delivery } from '../hire-event.js';
import { genericAdapter as adapter } from './generic.js';

const NOW = Date.parse('2026-03-01T09:00:00Z');
const SECONDS = NOW / 1000;
const FIVE_MINUTES = 5 * 60_000;
const secret = newWebhookSecret();

function signed(body = genericHireBody(), key = secret, at = { id: 'msg_2Lq0', timestamp: SECONDS }): Delivery {
  return delivery(signGeneric(key, body, at), body);
}

function refusal(attempt: () => unknown): DeliveryError {
  try {
    attempt();
  } catch (error) {
    expect(error).toBeInstanceOf(DeliveryError);
    return error as DeliveryError;
  }
  throw new Error('expected a DeliveryError');
}

/** The 401's message names no signature, and neither the expected one nor the secret appears in it. */
function expectBlind(error: DeliveryError, d: Delivery) {
  expect(error.status).toBe(401);
  const expected = signGeneric(secret, d.body, {
    id: d.headers['webhook-id']!,
    timestamp: Number(d.headers['webhook-timestamp']),
  })['webhook-signature'].slice(3);
  expect(error.message).not.toContain(expected.slice(0, 8));
  expect(error.message).not.toContain(secret.slice(6, 14));
  expect(error.problems).toEqual([]);
}

describe('generic (Standard Webhooks) verify of a stored delivery (the worker), by the time it is given', () => {
  it('accepts a delivery signed with a configured secret, within the tolerance or without one', () => {
    expect(() => adapter.verify(signed(), [secret], { now: NOW, toleranceMs: FIVE_MINUTES })).not.toThrow();
    expect(() => adapter.verify(signed(), [secret], { now: NOW })).not.toThrow();
  });

  it('accepts a header listing several signatures when one of them holds', () => {
    const good = signed();
    const header = `v1,${Buffer.alloc(32).toString('base64')} v2,abc ${good.headers['webhook-signature']}`;
    const d = { ...good, headers: { ...good.headers, 'webhook-signature': header } };
    expect(() => adapter.verify(d, [secret], { now: NOW, toleranceMs: FIVE_MINUTES })).not.toThrow();
  });

  it('refuses a wrong secret, a tampered body, a changed id or timestamp with 401, saying nothing of the signature', () => {
    const d = signed();
    expectBlind(
      refusal(() => adapter.verify(d, [newWebhookSecret()], { now: NOW })),
      d,
    );
    const tampered = { ...d, body: d.body.replace('Engineering', 'Finance') };
    expectBlind(
      refusal(() => adapter.verify(tampered, [secret], { now: NOW })),
      tampered,
    );
    const otherId = { ...d, headers: { ...d.headers, 'webhook-id': 'msg_other' } };
    expectBlind(
      refusal(() => adapter.verify(otherId, [secret], { now: NOW })),
      otherId,
    );
    const otherTime = { ...d, headers: { ...d.headers, 'webhook-timestamp': String(SECONDS + 1) } };
    expectBlind(
      refusal(() => adapter.verify(otherTime, [secret], { now: NOW })),
      otherTime,
    );
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])('refuses a delivery without %s', (header) => {
    const d = signed();
    delete d.headers[header];
    const error = refusal(() => adapter.verify(d, [secret], { now: NOW }));
    expect(error.status).toBe(401);
    expect(error.message).toContain(header);
  });

  it('refuses a timestamp outside the tolerance, and checks none without one (the worker verifies later)', () => {
    const old = signed(undefined, secret, { id: 'msg_old', timestamp: SECONDS - 301 });
    const error = refusal(() => adapter.verify(old, [secret], { now: NOW, toleranceMs: FIVE_MINUTES }));
    expect(error.status).toBe(401);
    expect(error.message).toMatch(/webhook-timestamp .*replayed/);
    const early = signed(undefined, secret, { id: 'msg_new', timestamp: SECONDS + 301 });
    expect(refusal(() => adapter.verify(early, [secret], { now: NOW, toleranceMs: FIVE_MINUTES })).status).toBe(401);
    expect(() => adapter.verify(old, [secret], { now: NOW + 30 * 86_400_000 })).not.toThrow();
  });

  it('judges the time by the injected now, not the real clock', () => {
    const longAgo = Date.parse('2020-01-01T00:00:00Z');
    const d = signed(undefined, secret, { id: 'msg_2020', timestamp: longAgo / 1000 });
    expect(() => adapter.verify(d, [secret], { now: longAgo + 1000, toleranceMs: FIVE_MINUTES })).not.toThrow();
  });

  it.each(['1.5', '-1', ' 1', '0017'])('refuses the timestamp %j (whole seconds, written canonically)', (timestamp) => {
    const d = signed();
    d.headers['webhook-timestamp'] = timestamp;
    expect(refusal(() => adapter.verify(d, [secret], { now: NOW })).status).toBe(401);
  });

  it('rotates: old and new secrets both accepted while both are configured, the removed one refused after', () => {
    const next = newWebhookSecret();
    const byOld = signed();
    const byNew = signed(undefined, next);
    expect(() => adapter.verify(byOld, [secret, next], { now: NOW })).not.toThrow();
    expect(() => adapter.verify(byNew, [secret, next], { now: NOW })).not.toThrow();
    expect(refusal(() => adapter.verify(byOld, [next], { now: NOW })).status).toBe(401);
    expect(refusal(() => adapter.verify(byNew, [], { now: NOW })).status).toBe(401);
  });

  it('reads its delivery id, untrusted, from webhook-id', () => {
    expect(adapter.deliveryId(signed())).toBe('msg_2Lq0');
    expect(adapter.deliveryId(delivery({}, '{}'))).toBeUndefined();
    expect(adapter.headers).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
  });
});

describe('generic (Standard Webhooks) verify on arrival: the package decides', () => {
  // The package judges the time by the real clock: here, the clock is NOW.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });
  const arriving = { now: 0, arriving: true } as const;

  it("verifies with Webhook.verify, each configured secret in turn, within the package's 5 minutes", () => {
    const verify = vi.spyOn(Webhook.prototype, 'verify');
    const next = newWebhookSecret();
    expect(() => adapter.verify(signed(), [secret], arriving)).not.toThrow();
    expect(verify).toHaveBeenCalledTimes(1);
    expect(() => adapter.verify(signed(undefined, next), [secret, next], arriving)).not.toThrow();
    expect(verify).toHaveBeenCalledTimes(3);
    const edge = signed(undefined, secret, { id: 'msg_edge', timestamp: SECONDS - 300 });
    expect(() => adapter.verify(edge, [secret], arriving)).not.toThrow();
    const listed = signed();
    listed.headers['webhook-signature'] =
      `v1,${Buffer.alloc(32).toString('base64')} ${listed.headers['webhook-signature']}`;
    expect(() => adapter.verify(listed, [secret], arriving)).not.toThrow();
  });

  it('refuses a wrong secret, a tampered body, an old or future timestamp alike: one 401 that names no part', () => {
    const d = signed();
    const refusals = [
      refusal(() => adapter.verify(d, [newWebhookSecret()], arriving)),
      refusal(() => adapter.verify({ ...d, body: d.body.replace('Engineering', 'Finance') }, [secret], arriving)),
      refusal(() =>
        adapter.verify(signed(undefined, secret, { id: 'o', timestamp: SECONDS - 301 }), [secret], arriving),
      ),
      refusal(() =>
        adapter.verify(signed(undefined, secret, { id: 'n', timestamp: SECONDS + 301 }), [secret], arriving),
      ),
      refusal(() => adapter.verify(d, [], arriving)),
    ];
    for (const error of refusals) expectBlind(error, d);
    expect(new Set(refusals.map((error) => error.message)).size).toBe(1);
  });

  it('judges the time by the clock, not by the now or tolerance it is given', () => {
    const d = signed();
    expect(() => adapter.verify(d, [secret], { now: NOW + 86_400_000, toleranceMs: 1, arriving: true })).not.toThrow();
    vi.setSystemTime(NOW + 301_000);
    expect(
      refusal(() => adapter.verify(d, [secret], { now: NOW, toleranceMs: 86_400_000, arriving: true })).status,
    ).toBe(401);
  });

  it('rotates: any configured secret accepted, a removed one refused', () => {
    const next = newWebhookSecret();
    expect(() => adapter.verify(signed(), [next, secret], arriving)).not.toThrow();
    expect(refusal(() => adapter.verify(signed(), [next], arriving)).status).toBe(401);
  });

  it('checks the headers before the package: missing ones named, a timestamp only in canonical form', () => {
    const d = signed();
    delete d.headers['webhook-id'];
    expect(refusal(() => adapter.verify(d, [secret], arriving)).message).toBe('missing header webhook-id');
    // parseInt would read "0…" and "….5" as the signed number.
    for (const timestamp of [`0${SECONDS}`, `${SECONDS}.5`, `${SECONDS}abc`]) {
      const odd = signed();
      odd.headers['webhook-timestamp'] = timestamp;
      expect(refusal(() => adapter.verify(odd, [secret], arriving)).status).toBe(401);
    }
  });

  it('leaves a body that is not JSON to be read (400), once its signature holds', () => {
    const d = signed('{"type": "employee.hired",');
    expect(() => adapter.verify(d, [secret], arriving)).not.toThrow();
    expect(refusal(() => adapter.read(d)).status).toBe(400);
  });
});

describe('generic (Standard Webhooks) read', () => {
  it('reads a hire, username included', () => {
    expect(adapter.read(signed())).toEqual({
      kind: 'hire',
      event: {
        eventId: 'evt-0001',
        employeeId: 'E-1001',
        username: 'ada.lovelace',
        email: 'ada.lovelace@example.com',
        firstName: 'Ada',
        lastName: 'Lovelace',
        department: 'Engineering',
        team: 'Platform',
        startDate: '2026-03-02',
      },
    });
  });

  it('acknowledges any other type without acting on it', () => {
    expect(adapter.read(signed(genericHireBody({}, 'employee.terminated')))).toEqual({
      kind: 'ignored',
      type: 'employee.terminated',
      eventId: 'evt-0001',
    });
    expect(adapter.read(delivery({}, JSON.stringify({ type: 'ping' })))).toEqual({ kind: 'ignored', type: 'ping' });
  });

  it('refuses a body that is not JSON with 400', () => {
    const error = refusal(() => adapter.read(delivery({}, '{"type": "employee.hired",')));
    expect(error.status).toBe(400);
    expect(error.problems).toEqual([{ field: 'body', message: 'is not valid JSON' }]);
  });

  it('names every bad field of a hire by its path', () => {
    const body = genericHireBody({ startDate: '2026-02-30', firstName: undefined, email: 42, nickname: 'x' });
    const error = refusal(() => adapter.read(delivery({}, body)));
    expect(error.status).toBe(400);
    expect(error.problems).toEqual(
      expect.arrayContaining([
        { field: 'data.startDate', message: 'is not a calendar date' },
        { field: 'data.firstName', message: 'is required' },
        { field: 'data.email', message: 'must be text' },
        { field: 'data.nickname', message: 'is not a known field' },
      ]),
    );
    expect(error.problems).toHaveLength(4);
    expect(error.message).toContain('data.startDate is not a calendar date');
  });

  it('refuses an event without a type or a hire without data', () => {
    expect(refusal(() => adapter.read(delivery({}, '{"data": {}}'))).problems).toEqual([
      { field: 'type', message: 'is required' },
    ]);
    expect(refusal(() => adapter.read(delivery({}, '[1]'))).problems).toEqual([
      { field: 'body', message: 'must be a JSON object' },
    ]);
    const error = refusal(() => adapter.read(delivery({}, '{"type": "employee.hired"}')));
    expect(error.problems).toEqual([{ field: 'data', message: 'is required' }]);
  });
});
