import type { AuditSink } from '../audit/sink.js';
import { traceKubeSphereCall, type Tracing } from '../tracing/index.js';
import type { WorkerMetrics } from './worker-metrics.js';

export interface KubeSphereCall {
  method: string;
  path: string;
  status: number | string;
  seconds: number;
}

/**
 * The KubeSphere transport's observer (TransportOptions.observe): each request counted and timed, and traced when
 * tracing is on; undefined when neither is. Never throws into the request.
 */
export function kubesphereObserver(
  origin: string,
  observability: { metrics?: WorkerMetrics; tracing?: Tracing },
): ((call: KubeSphereCall) => void) | undefined {
  const { metrics, tracing } = observability;
  if (!metrics && !tracing) return undefined;
  return (call) => {
    try {
      metrics?.kubesphereCall(call);
      if (tracing) traceKubeSphereCall(tracing, origin, call);
    } catch {
      // an observer never fails a request
    }
  };
}

/** What a worker process observes itself with (src/temporal/run-worker.ts → createOnboardingWorker). */
export interface WorkerObservability {
  audit?: AuditSink;
  metrics?: WorkerMetrics;
  tracing?: Tracing;
}
