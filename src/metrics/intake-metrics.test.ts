import type { Client } from '@temporalio/client';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createIntakeApp } from '../intake/server.js';
import { createIntakeMetrics } from './intake-metrics.js';

const hr = {
  vendors: { secrets: { generic: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], bamboohr: [], hibob: [] }, api: {} },
  mapping: { rules: [] },
  timeZone: 'UTC',
  leadTimeMs: 0,
} as never;

describe('the HR intake /metrics', () => {
  it('counts every delivery answered, by vendor path and status, with its latency; never what the caller named', async () => {
    const metrics = createIntakeMetrics({ processMetrics: false });
    const app = createIntakeApp({
      client: {} as Client,
      taskQueue: 'q',
      prefix: '',
      hr,
      log: pino({ level: 'silent' }),
      metrics,
    });
    const post = (path: string, type = 'application/json', headers: Record<string, string> = {}) =>
      app.request(path, { method: 'POST', headers: { 'content-type': type, ...headers }, body: '{}' });
    expect((await post('/v1/hr/events', 'text/plain')).status).toBe(415);
    expect(
      (
        await post('/v1/hr/events', 'application/json', {
          'webhook-id': 'msg_1',
          'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
          'webhook-signature': 'v1,bm90IGEgc2lnbmF0dXJl',
        })
      ).status,
    ).toBe(401);
    expect((await post('/v1/hr/bamboohr')).status).toBe(404);
    expect((await post('/v1/hr/alice-was-here')).status).toBe(404);
    expect((await app.request('/v1/hr/events')).status).toBe(404); // not a delivery: not counted

    const answer = await app.request('/metrics');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await answer.text();
    expect(text).toContain('ks_onboard_intake_deliveries_total{vendor="generic",status="415"} 1');
    expect(text).toContain('ks_onboard_intake_deliveries_total{vendor="generic",status="401"} 1');
    expect(text).toContain('ks_onboard_intake_deliveries_total{vendor="bamboohr",status="404"} 1');
    expect(text).toContain('ks_onboard_intake_deliveries_total{vendor="unknown",status="404"} 1');
    expect(text).toContain('ks_onboard_intake_delivery_duration_seconds_count{vendor="generic"} 2');
    expect(text).not.toContain('alice-was-here');
  });

  it('serves process metrics by default', async () => {
    const app = createIntakeApp({
      client: {} as Client,
      taskQueue: 'q',
      prefix: '',
      hr,
      log: pino({ level: 'silent' }),
    });
    expect(await (await app.request('/metrics')).text()).toContain('process_cpu_user_seconds_total');
  });
});
