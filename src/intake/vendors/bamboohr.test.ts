import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BAMBOOHR_POSTED_HIRE,
  bambooHrEventBody,
  bambooHrFieldsBody,
  delivery,
  signBambooHr,
} from '../../../test/helpers/hr-vendors.js';
import { DeliveryError, type Delivery } from '../hire-event.js';
import { bambooHrAdapter as adapter } from './bamboohr.js';

const NOW = Date.parse('2026-01-31T18:42:00Z');
const FIVE_MINUTES = 5 * 60_000;
const key = 'b9c2a07f5e3d41c6a8f0e1d2c3b4a596';

function signed(body = bambooHrEventBody(), secret = key, timestamp = '2026-01-31T18:42:00+0000'): Delivery {
  return delivery(signBambooHr(secret, body, timestamp), body);
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
  const expected = createHmac('sha256', key)
    .update(d.body + d.headers['x-bamboohr-timestamp'])
    .digest('hex');
  expect(error.message).not.toContain(expected.slice(0, 8));
  expect(error.message).not.toContain(key.slice(0, 8));
}

describe('BambooHR verify', () => {
  it('accepts the hex HMAC-SHA256 of body + timestamp, with an ISO or a Unix-seconds timestamp', () => {
    expect(() => adapter.verify(signed(), [key], { now: NOW, toleranceMs: FIVE_MINUTES })).not.toThrow();
    const unix = signed(undefined, key, String(NOW / 1000 - 60));
    expect(() => adapter.verify(unix, [key], { now: NOW, toleranceMs: FIVE_MINUTES })).not.toThrow();
    const upper = signed();
    upper.headers['x-bamboohr-signature'] = upper.headers['x-bamboohr-signature']!.toUpperCase();
    expect(() => adapter.verify(upper, [key], { now: NOW })).not.toThrow();
  });

  it('refuses a wrong key, a tampered body or a tampered timestamp with 401, saying nothing of the signature', () => {
    const d = signed();
    expectBlind(
      refusal(() => adapter.verify(d, ['another-private-key'], { now: NOW })),
      d,
    );
    const tampered = { ...d, body: d.body.replace('67890', '67891') };
    expectBlind(
      refusal(() => adapter.verify(tampered, [key], { now: NOW })),
      tampered,
    );
    const later = { ...d, headers: { ...d.headers, 'x-bamboohr-timestamp': '2026-01-31T18:43:00+0000' } };
    expectBlind(
      refusal(() => adapter.verify(later, [key], { now: NOW })),
      later,
    );
  });

  it.each(['x-bamboohr-signature', 'x-bamboohr-timestamp'])('refuses a delivery without %s', (header) => {
    const d = signed();
    delete d.headers[header];
    const error = refusal(() => adapter.verify(d, [key], { now: NOW }));
    expect(error.status).toBe(401);
    expect(error.message).toContain(header);
  });

  it('refuses a signature that is not hex SHA-256', () => {
    const d = signed();
    d.headers['x-bamboohr-signature'] = `sha256=${d.headers['x-bamboohr-signature']}`;
    expect(refusal(() => adapter.verify(d, [key], { now: NOW })).status).toBe(401);
  });

  it('refuses a timestamp outside the tolerance or unreadable, and checks none without one', () => {
    const old = signed(undefined, key, '2026-01-31T18:30:00+0000');
    const error = refusal(() => adapter.verify(old, [key], { now: NOW, toleranceMs: FIVE_MINUTES }));
    expect(error.status).toBe(401);
    expect(error.message).toMatch(/x-bamboohr-timestamp .*replayed/);
    expect(() => adapter.verify(old, [key], { now: NOW })).not.toThrow();
    const garbled = signed(undefined, key, 'yesterday');
    expect(refusal(() => adapter.verify(garbled, [key], { now: NOW, toleranceMs: FIVE_MINUTES })).message).toMatch(
      /not a time/,
    );
  });

  it('rotates: both private keys accepted while both are configured, the removed one refused after', () => {
    const next = 'f00dfeed00112233445566778899aabb';
    expect(() => adapter.verify(signed(), [key, next], { now: NOW })).not.toThrow();
    expect(() => adapter.verify(signed(undefined, next), [key, next], { now: NOW })).not.toThrow();
    expect(refusal(() => adapter.verify(signed(), [next], { now: NOW })).status).toBe(401);
  });

  it('has no delivery id and keeps both its headers', () => {
    expect(adapter.deliveryId(signed())).toBeUndefined();
    expect(adapter.headers).toEqual(['x-bamboohr-signature', 'x-bamboohr-timestamp']);
  });
});

describe('BambooHR read: event-based', () => {
  it('reads employee.created as a hire named by id, with an event id stable across retries', () => {
    expect(adapter.read(signed())).toEqual({
      kind: 'hire-by-id',
      eventId: 'employee-67890-created',
      employeeId: '67890',
    });
    // A retry re-sent later carries a new timestamp, and the same event id.
    const retry = signed(bambooHrEventBody({ timestamp: '2026-01-31T19:22:00+0000' }));
    expect(adapter.read(retry)).toMatchObject({ eventId: 'employee-67890-created' });
  });

  it('reads a numeric employee id as text', () => {
    const body = JSON.stringify({ type: 'employee.created', data: { companyId: 1, employeeId: 42 } });
    expect(adapter.read(delivery({}, body))).toMatchObject({ kind: 'hire-by-id', employeeId: '42' });
  });

  it.each(['employee.updated', 'employee.deleted'])('acknowledges %s without acting on it', (type) => {
    expect(adapter.read(signed(bambooHrEventBody({ type })))).toEqual({ kind: 'ignored', type });
  });

  it('refuses a created event without an employee id, or with one that could leave an API path', () => {
    const none = JSON.stringify({ type: 'employee.created', data: { companyId: '1' } });
    expect(refusal(() => adapter.read(delivery({}, none))).problems).toEqual([
      { field: 'data.employeeId', message: 'is required' },
    ]);
    const climbing = bambooHrEventBody({ employeeId: '../../meta/users' });
    const error = refusal(() => adapter.read(delivery({}, climbing)));
    expect(error.status).toBe(400);
    expect(error.problems[0]?.field).toBe('data.employeeId');
  });
});

describe('BambooHR read: field-based', () => {
  it('reads a creation that posted every field as a whole hire, under the same event id as event-based', () => {
    const body = bambooHrFieldsBody([{ id: '67890', action: 'Created', fields: BAMBOOHR_POSTED_HIRE }]);
    expect(adapter.read(signed(body))).toEqual({
      kind: 'hire',
      event: {
        eventId: 'employee-67890-created',
        employeeId: '67890',
        firstName: 'Grace',
        lastName: 'Hopper',
        email: 'grace.hopper@example.com',
        department: 'Research',
        startDate: '2026-04-01',
      },
    });
  });

  it('reads fields posted under the API names too', () => {
    const fields = {
      firstName: 'Grace',
      lastName: 'Hopper',
      workEmail: 'grace.hopper@example.com',
      department: 'Research',
      hireDate: '2026-04-01',
    };
    const body = bambooHrFieldsBody([{ id: '5', action: 'Created', fields }]);
    expect(adapter.read(delivery({}, body))).toMatchObject({ kind: 'hire', event: { email: fields.workEmail } });
  });

  it('names the employee by id when a field is missing or unusable: the worker reads the record', () => {
    const partial = bambooHrFieldsBody([{ id: '7', action: 'Created', fields: { 'First Name': 'Grace' } }]);
    expect(adapter.read(delivery({}, partial))).toEqual({
      kind: 'hire-by-id',
      eventId: 'employee-7-created',
      employeeId: '7',
    });
    const noDate = bambooHrFieldsBody([
      { id: '7', action: 'Created', fields: { ...BAMBOOHR_POSTED_HIRE, 'Hire Date': '0000-00-00' } },
    ]);
    expect(adapter.read(delivery({}, noDate))).toMatchObject({ kind: 'hire-by-id', employeeId: '7' });
  });

  it('reads the one creation among updates, and acknowledges a delivery of updates only', () => {
    const body = bambooHrFieldsBody([
      { id: '1', action: 'Updated', changedFields: ['Department'] },
      { id: '2', action: 'Created' },
      { id: '3', action: 'Deleted' },
    ]);
    expect(adapter.read(delivery({}, body))).toMatchObject({ kind: 'hire-by-id', employeeId: '2' });
    const updates = bambooHrFieldsBody([{ id: '1', action: 'Updated' }, { id: '3' }]);
    expect(adapter.read(delivery({}, updates))).toEqual({ kind: 'ignored', type: 'employees:Updated,unknown' });
  });

  it('refuses (422) a delivery that creates several employees, naming them and the way out', () => {
    const body = bambooHrFieldsBody([
      { id: '11', action: 'Created' },
      { id: '12', action: 'Created' },
    ]);
    const error = refusal(() => adapter.read(delivery({}, body)));
    expect(error.status).toBe(422);
    expect(error.message).toContain('creates 2 employees (11, 12)');
    expect(error.message).toContain('event-based webhook');
    expect(error.problems).toEqual([{ field: 'employees', message: expect.stringContaining('2 entries') }]);
  });

  it('names the bad fields of a malformed body', () => {
    expect(refusal(() => adapter.read(delivery({}, '{"employees": {}}'))).problems).toEqual([
      { field: 'employees', message: 'must be a list' },
    ]);
    const error = refusal(() => adapter.read(delivery({}, '{"employees": [{"action": "Created"}, 7]}')));
    expect(error.problems).toEqual([
      { field: 'employees.0.id', message: 'is required' },
      { field: 'employees.1', message: 'must be an object' },
    ]);
  });

  it('refuses a body in neither format, and a form post, with 400', () => {
    expect(refusal(() => adapter.read(delivery({}, '{"hello": 1}'))).status).toBe(400);
    const form = refusal(() => adapter.read(delivery({}, 'type=employee.created&data[employeeId]=1')));
    expect(form.problems).toEqual([{ field: 'body', message: 'is not valid JSON' }]);
  });
});
