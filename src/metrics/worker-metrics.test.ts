import { describe, expect, it } from 'vitest';
import { AUDIT_SCHEMA } from '../audit/events.js';
import { createWorkerMetrics } from './worker-metrics.js';

const base = {
  schema: AUDIT_SCHEMA,
  time: '2026-01-02T03:04:00.000Z',
  recordedAt: '2026-01-02T03:04:00.000Z',
  workflow: { id: 'onboard-alice', runId: 'r', type: 'onboardUser', namespace: 'default', taskQueue: 'q' },
  request: 'onboarding',
  subject: 'alice',
  who: 'ops-admin',
  source: 'cli',
} as const;

/** One sample's value from the text format, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((w) => line.includes(w))) return Number(line.split(' ').pop());
  }
  return undefined;
}

describe('worker metrics', () => {
  it('counts requests, steps and failures from the closing audit events, approvals and their wait', async () => {
    const metrics = createWorkerMetrics({ processMetrics: false });
    metrics.event({
      ...base,
      id: 'a/r/3',
      type: 'request.completed',
      decision: 'completed',
      grants: [
        { scope: 'platform', target: 'platform', role: 'platform-regular', outcome: 'created' },
        { scope: 'workspace', target: 'team-a', role: 'regular', outcome: 'created' },
        { scope: 'project', target: 'host/team-a-dev', role: 'viewer', outcome: 'existed' },
      ],
      resources: [
        { kind: 'user', name: 'alice', outcome: 'created' },
        { kind: 'workspace', name: 'team-a', outcome: 'existed' },
      ],
    });
    metrics.event({
      ...base,
      id: 'b/r/2',
      source: 'hr:hibob',
      type: 'request.failed',
      decision: 'failed',
      error: { type: 'KS_UNAVAILABLE', message: 'KubeSphere answered HTTP 503' },
    });
    metrics.event({
      ...base,
      id: 'c/r/1',
      type: 'request.refused',
      decision: 'refused',
      source: 'nonsense-source',
      error: { type: 'a type with spaces that no code has', message: 'x' },
    });
    metrics.event({
      ...base,
      id: 'a/r/2',
      type: 'approval.approved',
      decision: 'approved',
      approval: { grants: [], waitedSeconds: 7200 },
    });
    const text = await metrics.registry.metrics();
    expect(
      sample(text, 'ks_onboard_requests_total', { workflow: 'onboardUser', source: 'cli', outcome: 'completed' }),
    ).toBe(1);
    expect(sample(text, 'ks_onboard_requests_total', { source: 'hr:hibob', outcome: 'failed' })).toBe(1);
    expect(sample(text, 'ks_onboard_requests_total', { source: 'other', outcome: 'refused' })).toBe(1);
    expect(sample(text, 'ks_onboard_request_failures_total', { error_type: 'KS_UNAVAILABLE' })).toBe(1);
    expect(sample(text, 'ks_onboard_request_failures_total', { error_type: 'other' })).toBe(1);
    expect(sample(text, 'ks_onboard_steps_total', { step: 'user', outcome: 'created' })).toBe(1);
    expect(sample(text, 'ks_onboard_steps_total', { step: 'workspace', outcome: 'existed' })).toBe(1);
    expect(sample(text, 'ks_onboard_steps_total', { step: 'workspace-member', outcome: 'created' })).toBe(1);
    expect(sample(text, 'ks_onboard_steps_total', { step: 'project-member', outcome: 'existed' })).toBe(1);
    expect(sample(text, 'ks_onboard_approvals_total', { decision: 'approved' })).toBe(1);
    expect(sample(text, 'ks_onboard_approval_wait_seconds_bucket', { decision: 'approved', le: '3600' })).toBe(0);
    expect(sample(text, 'ks_onboard_approval_wait_seconds_bucket', { decision: 'approved', le: '14400' })).toBe(1);
    expect(sample(text, 'ks_onboard_audit_events_total', { type: 'request.completed' })).toBe(1);
    // bounded labels: no person, no workspace, no workflow id
    expect(text).not.toMatch(/alice|team-a|onboard-alice/);
  });

  it('counts KubeSphere calls by method, route and status, with names replaced', async () => {
    const metrics = createWorkerMetrics({ processMetrics: false });
    metrics.kubesphereCall({
      method: 'GET',
      path: '/kapis/iam.kubesphere.io/v1beta1/users/alice',
      status: 200,
      seconds: 0.02,
    });
    metrics.kubesphereCall({
      method: 'GET',
      path: '/kapis/iam.kubesphere.io/v1beta1/users/bob',
      status: 503,
      seconds: 0.2,
    });
    metrics.kubesphereCall({ method: 'POST', path: '/oauth/token', status: 'KS_TIMEOUT', seconds: 10 });
    const text = await metrics.registry.metrics();
    const route = '/kapis/iam.kubesphere.io/v1beta1/users/{name}';
    expect(sample(text, 'ks_onboard_kubesphere_requests_total', { method: 'GET', route, status: '200' })).toBe(1);
    expect(sample(text, 'ks_onboard_kubesphere_requests_total', { method: 'GET', route, status: '503' })).toBe(1);
    expect(sample(text, 'ks_onboard_kubesphere_requests_total', { route: '/oauth/token', status: 'KS_TIMEOUT' })).toBe(
      1,
    );
    expect(sample(text, 'ks_onboard_kubesphere_request_duration_seconds_count', { method: 'GET', route })).toBe(2);
    expect(text).not.toMatch(/alice|bob/);
  });

  it('reports the approvals waiting per threshold from Temporal, cached, and none when Temporal cannot say', async () => {
    const metrics = createWorkerMetrics({ processMetrics: false });
    expect(await metrics.registry.metrics()).not.toMatch(/ks_onboard_approvals_waiting\{/);
    let asked = 0;
    metrics.countWaitingApprovals(async (olderThanMs) => {
      asked++;
      return olderThanMs === 0 ? 3 : olderThanMs <= 3_600_000 ? 2 : 0;
    });
    const text = await metrics.registry.metrics();
    expect(sample(text, 'ks_onboard_approvals_waiting', { older_than: '0h' })).toBe(3);
    expect(sample(text, 'ks_onboard_approvals_waiting', { older_than: '1h' })).toBe(2);
    expect(sample(text, 'ks_onboard_approvals_waiting', { older_than: '24h' })).toBe(0);
    await metrics.registry.metrics();
    expect(asked).toBe(4); // one scrape's worth: the second was served from the cache

    const failing = createWorkerMetrics({ processMetrics: false });
    failing.countWaitingApprovals(async () => {
      throw new Error('Temporal is down');
    });
    expect(await failing.registry.metrics()).not.toMatch(/ks_onboard_approvals_waiting\{/);
  });
});
