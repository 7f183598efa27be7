import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditEvent } from '../audit/events.js';
import { routeOf } from './routes.js';

/**
 * The worker's own metrics (docs/observability.md), served at `/metrics` on its health port beside Node's process
 * metrics. Labels are bounded: workflow types, sources (`cli`, `batch`, `hr:<vendor>`), outcomes, error types,
 * step names, KubeSphere routes with names replaced: never a username, a workspace or a workflow id.
 *
 * Requests, steps and approvals are counted from the audit events the workflows record (the `audit` local
 * activity): once per event, when the worker writes it, never again on a replay.
 */
export interface WorkerMetrics {
  readonly registry: Registry;
  /** one recorded audit event (request outcome, steps, approval decision and wait) */
  event(event: AuditEvent): void;
  /** a write of the audit trail failed (retried by the workflow's local activity) */
  auditWriteFailed(): void;
  /** one HTTP exchange with KubeSphere (KubeSphereClient's `observe`) */
  kubesphereCall(call: { method: string; path: string; status: number | string; seconds: number }): void;
  /** how many requests wait for an approval, read from Temporal's visibility at scrape time (cached) */
  countWaitingApprovals(counter: WaitingApprovalsCounter): void;
}

/** Counts running requests that have waited for an approval for longer than `olderThanMs` (0: all of them). */
export type WaitingApprovalsCounter = (olderThanMs: number) => Promise<number>;

/** The `older_than` labels of `ks_onboard_approvals_waiting`. */
export const WAITING_THRESHOLDS: Record<string, number> = {
  '0h': 0,
  '1h': 3_600_000,
  '24h': 24 * 3_600_000,
  '72h': 72 * 3_600_000,
};
const WAITING_CACHE_MS = 30_000;

const SECONDS_BUCKETS_KS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const APPROVAL_WAIT_BUCKETS = [
  60,
  300,
  900,
  3_600,
  4 * 3_600,
  12 * 3_600,
  24 * 3_600,
  48 * 3_600,
  72 * 3_600,
  7 * 86_400,
];

const CLOSING: Record<string, string> = {
  'request.completed': 'completed',
  'request.failed': 'failed',
  'request.refused': 'refused',
  'request.cancelled': 'cancelled',
};

/** A label value from something bounded by our own code (error types, step names); anything else is `other`. */
function bounded(value: string | undefined, pattern = /^[A-Za-z][\w.:-]{0,47}$/): string {
  return value && pattern.test(value) ? value : 'other';
}

export function createWorkerMetrics(options: { registry?: Registry; processMetrics?: boolean } = {}): WorkerMetrics {
  const registry = options.registry ?? new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'ks_onboard_requests_total',
    help: 'Requests (onboardings, role changes) that ended, by workflow type, source and outcome (completed, failed, refused, cancelled)',
    labelNames: ['workflow', 'source', 'outcome'] as const,
    registers: [registry],
  });
  const failures = new Counter({
    name: 'ks_onboard_request_failures_total',
    help: 'Requests that failed or were refused, by workflow type and error type (KS_UNAVAILABLE, PolicyViolation, ApprovalRejected…)',
    labelNames: ['workflow', 'error_type'] as const,
    registers: [registry],
  });
  const steps = new Counter({
    name: 'ks_onboard_steps_total',
    help: 'Steps of requests that ended, by step (user, workspace, project, workspace-member, project-member, role) and outcome',
    labelNames: ['step', 'outcome'] as const,
    registers: [registry],
  });
  const approvals = new Counter({
    name: 'ks_onboard_approvals_total',
    help: 'Approvals decided or expired, by decision (approved, rejected, expired)',
    labelNames: ['decision'] as const,
    registers: [registry],
  });
  const approvalWait = new Histogram({
    name: 'ks_onboard_approval_wait_seconds',
    help: 'Time from a request waiting for an approval to its decision or expiry, by decision',
    labelNames: ['decision'] as const,
    buckets: APPROVAL_WAIT_BUCKETS,
    registers: [registry],
  });
  const auditEvents = new Counter({
    name: 'ks_onboard_audit_events_total',
    help: 'Audit events recorded by this worker, by type',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const auditFailures = new Counter({
    name: 'ks_onboard_audit_write_failures_total',
    help: 'Failed writes of the audit trail (each is retried; a request never fails for it)',
    registers: [registry],
  });
  const ksRequests = new Counter({
    name: 'ks_onboard_kubesphere_requests_total',
    help: 'HTTP requests to KubeSphere, by method, route (names replaced by {name}) and status (HTTP code, or KS_TIMEOUT, KS_NETWORK, KS_ABORTED… when no answer came)',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const ksSeconds = new Histogram({
    name: 'ks_onboard_kubesphere_request_duration_seconds',
    help: 'Duration of HTTP requests to KubeSphere, by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: SECONDS_BUCKETS_KS,
    registers: [registry],
  });

  let waitingCounter: WaitingApprovalsCounter | undefined;
  let waitingCache: { at: number; values: Record<string, number> } | undefined;
  new Gauge({
    name: 'ks_onboard_approvals_waiting',
    help: 'Requests of this task queue waiting for an approval for longer than older_than (0h: all), from Temporal visibility; every worker reports the same value: use max()',
    labelNames: ['older_than'] as const,
    registers: [registry],
    async collect() {
      if (!waitingCounter) return;
      const now = Date.now();
      if (!waitingCache || now - waitingCache.at > WAITING_CACHE_MS) {
        const counter = waitingCounter;
        try {
          const entries = await Promise.all(
            Object.entries(WAITING_THRESHOLDS).map(async ([label, ms]) => [label, await counter(ms)] as const),
          );
          waitingCache = { at: now, values: Object.fromEntries(entries) };
        } catch {
          // Temporal unreachable: no value rather than a stale or wrong one.
          this.reset();
          return;
        }
      }
      for (const [label, value] of Object.entries(waitingCache.values)) this.set({ older_than: label }, value);
    },
  });

  return {
    registry,
    event(event) {
      auditEvents.inc({ type: event.type });
      const workflow = bounded(event.workflow.type);
      const outcome = CLOSING[event.type];
      if (outcome) {
        requests.inc({ workflow, source: bounded(event.source, /^(cli|batch|hr(:[a-z]{1,20})?)$/), outcome });
        if (event.error) failures.inc({ workflow, error_type: bounded(event.error.type) });
      }
      if (outcome && outcome !== 'refused') {
        for (const grant of event.grants ?? [])
          steps.inc({ step: stepOfGrant(event, grant.scope), outcome: bounded(grant.outcome) });
        for (const resource of event.resources ?? []) {
          // an onboarding's user step is counted once, as its platform grant
          if (resource.kind === 'user' && event.grants?.some((g) => g.scope === 'platform')) continue;
          steps.inc({ step: resource.kind, outcome: bounded(resource.outcome) });
        }
      }
      if (event.type.startsWith('approval.')) {
        const decision = event.decision;
        approvals.inc({ decision });
        if (event.approval?.waitedSeconds !== undefined)
          approvalWait.observe({ decision }, event.approval.waitedSeconds);
      }
    },
    auditWriteFailed() {
      auditFailures.inc();
    },
    kubesphereCall(call) {
      const method = bounded(call.method, /^(GET|POST|PUT)$/);
      const route = routeOf(call.path);
      ksRequests.inc({ method, route, status: String(call.status).slice(0, 32) });
      ksSeconds.observe({ method, route }, call.seconds);
    },
    countWaitingApprovals(counter) {
      waitingCounter = counter;
      waitingCache = undefined;
    },
  };
}

/** The step that makes a grant, by the README's step names. */
function stepOfGrant(event: AuditEvent, scope: string): string {
  if (event.request === 'role-change') return 'role';
  if (scope === 'platform') return 'user';
  if (scope === 'workspace') return 'workspace-member';
  if (scope === 'project') return 'project-member';
  return 'other';
}
