import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { delivery, hiBobEventBody, signHiBob } from '../../../test/helpers/hr-vendors.js';
import { DeliveryError, type Delivery } from '../hire-event.js';
import { HIBOB_REPLAY_WINDOW_MS, hiBobAdapter as adapter, isBobConnectionTest } from './hibob.js';

const TRIGGERED = '2026-03-02T00:00:01.123456';
const NOW = Date.parse(`${TRIGGERED}Z`) + 2_000;
const FIVE_MINUTES = 5 * 60_000;
const DAY = 86_400_000;
const secret = 'bob-webhook-secret-7d1e0c';

function signed(body = hiBobEventBody(), key = secret): Delivery {
  return delivery(signHiBob(key, body), body);
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

function expectBlind(error: DeliveryError, d: Delivery) {
  expect(error.status).toBe(401);
  const expected = createHmac('sha512', secret).update(d.body).digest('base64');
  expect(error.message).not.toContain(expected.slice(0, 8));
  expect(error.message).not.toContain(secret);
}

describe('HiBob verify', () => {
  it('accepts the base64 HMAC-SHA512 of the body', () => {
    expect(() => adapter.verify(signed(), [secret], { now: NOW, toleranceMs: FIVE_MINUTES })).not.toThrow();
    expect(() => adapter.verify(signed(), [secret], { now: NOW })).not.toThrow();
  });

  it('refuses a wrong secret or a tampered body with 401, saying nothing of the signature', () => {
    const d = signed();
    expectBlind(
      refusal(() => adapter.verify(d, ['not-the-secret'], { now: NOW })),
      d,
    );
    const tampered = { ...d, body: d.body.replace('3332883854254932743', '3332883854254932744') };
    expectBlind(
      refusal(() => adapter.verify(tampered, [secret], { now: NOW })),
      tampered,
    );
  });

  it('refuses a delivery without Bob-Signature, or with one that is not a base64 SHA-512', () => {
    const d = signed();
    const error = refusal(() => adapter.verify({ ...d, headers: {} }, [secret], { now: NOW }));
    expect(error.status).toBe(401);
    expect(error.message).toContain('bob-signature');
    const hex = { ...d, headers: { 'bob-signature': createHmac('sha512', secret).update(d.body).digest('hex') } };
    expect(refusal(() => adapter.verify(hex, [secret], { now: NOW })).status).toBe(401);
  });

  it('rotates: both secrets accepted while both are configured, the removed one refused after', () => {
    const next = 'bob-webhook-secret-next';
    expect(() => adapter.verify(signed(), [secret, next], { now: NOW })).not.toThrow();
    expect(() => adapter.verify(signed(undefined, next), [secret, next], { now: NOW })).not.toThrow();
    expect(refusal(() => adapter.verify(signed(), [next], { now: NOW })).status).toBe(401);
  });

  it("keeps accepting Bob's own retries (3 days) under any tolerance, and refuses a delivery past the window", () => {
    const d = signed();
    expect(() => adapter.verify(d, [secret], { now: NOW + 3 * DAY, toleranceMs: FIVE_MINUTES })).not.toThrow();
    const late = refusal(() =>
      adapter.verify(d, [secret], { now: NOW + HIBOB_REPLAY_WINDOW_MS + 1, toleranceMs: FIVE_MINUTES }),
    );
    expect(late.status).toBe(401);
    expect(late.message).toMatch(/triggeredAt .*replayed/);
    // A wider tolerance than the window wins.
    expect(() => adapter.verify(d, [secret], { now: NOW + 6 * DAY, toleranceMs: 7 * DAY })).not.toThrow();
    // The worker, verifying a stored delivery later, checks no time.
    expect(() => adapter.verify(d, [secret], { now: NOW + 60 * DAY })).not.toThrow();
  });

  it('reads triggeredAt without a zone as UTC, and with a zone as written', () => {
    const zoned = signed(hiBobEventBody({ triggeredAt: '2026-03-02T02:00:01+02:00' }));
    expect(() => adapter.verify(zoned, [secret], { now: NOW, toleranceMs: FIVE_MINUTES })).not.toThrow();
  });

  it('accepts a signed body without triggeredAt: with no time it can never be a hire, only ignored', () => {
    const test = signed(JSON.stringify({ type: 'webhook.test' }));
    expect(() => adapter.verify(test, [secret], { now: NOW, toleranceMs: FIVE_MINUTES })).not.toThrow();
    expect(adapter.read(test)).toEqual({ kind: 'ignored', type: 'webhook.test' });
    const garbled = signed(hiBobEventBody({ triggeredAt: 'soon' }));
    expect(refusal(() => adapter.verify(garbled, [secret], { now: NOW, toleranceMs: FIVE_MINUTES })).status).toBe(401);
  });

  it('has no delivery id and keeps its one header', () => {
    expect(adapter.deliveryId(signed())).toBeUndefined();
    expect(adapter.headers).toEqual(['bob-signature']);
  });
});

describe('HiBob read', () => {
  it('reads employee.joined as a hire named by id, its event id made of company, employee and time', () => {
    expect(adapter.read(signed())).toEqual({
      kind: 'hire-by-id',
      eventId: 'joined-636192-3332883854254932743-2026-03-02T000001.123456',
      employeeId: '3332883854254932743',
    });
  });

  it('gives a retry the same event id and a later join (a rehire) another', () => {
    const first = adapter.read(signed());
    expect(adapter.read(signed())).toEqual(first);
    const rehire = adapter.read(signed(hiBobEventBody({ triggeredAt: '2027-01-04T00:00:02.5' })));
    expect(rehire).toMatchObject({ kind: 'hire-by-id', employeeId: '3332883854254932743' });
    expect(rehire).not.toEqual(first);
  });

  it.each(['employee.created', 'employee.updated', 'employee.left', 'table.entry.created'])(
    'acknowledges %s without acting on it',
    (type) => {
      expect(adapter.read(signed(hiBobEventBody({ type })))).toEqual({ kind: 'ignored', type });
    },
  );

  it('refuses a webhooks v1 body, and names the bad fields of a malformed join', () => {
    const v1 = refusal(() => adapter.read(delivery({}, hiBobEventBody({ version: 'v1' }))));
    expect(v1.status).toBe(400);
    expect(v1.problems).toEqual([{ field: 'version', message: 'must be "v2": only Bob webhooks v2 are read' }]);
    const body = JSON.stringify({
      type: 'employee.joined',
      companyId: 'a/b',
      triggeredAt: 'now',
      version: 'v2',
      data: {},
    });
    const error = refusal(() => adapter.read(delivery({}, body)));
    expect(error.problems.map((p) => p.field)).toEqual(['companyId', 'triggeredAt', 'data.employeeId']);
  });

  it('refuses a body that is not JSON', () => {
    expect(refusal(() => adapter.read(delivery({}, 'employee.joined'))).problems).toEqual([
      { field: 'body', message: 'is not valid JSON' },
    ]);
  });
});

describe("Bob's connection test", () => {
  it.each(['Ping test', ' Ping test\n', '"Ping test"', '{"text":"Ping test"}', '{ "text": "Ping test" }'])(
    'knows %j for the test',
    (body) => {
      expect(isBobConnectionTest(body)).toBe(true);
    },
  );

  it.each([
    'ping test',
    'Ping test!',
    '{"text":"Ping test","type":"employee.joined"}',
    '{"text":"ping"}',
    '["Ping test"]',
    hiBobEventBody(),
    '',
  ])('takes %j for a delivery like any other', (body) => {
    expect(isBobConnectionTest(body)).toBe(false);
  });
});
