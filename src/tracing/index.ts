import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import * as otel from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  type OpenTelemetryWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { ClientInterceptors } from '@temporalio/client';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import { routeOf } from '../metrics/routes.js';
import type { TracingConfig } from './config.js';
import { RedactingSpanProcessor } from './redact.js';

/**
 * OpenTelemetry tracing through Temporal's interceptors (docs/observability.md): a client's start or update, the
 * workflow's run, each activity scheduled and run, and each KubeSphere request an activity sends, in one trace.
 *
 * The workflow half runs inside the workflow bundle: its interceptors module (WORKFLOW_INTERCEPTOR_MODULES) is
 * bundled only into the bundle of a worker with tracing on (`x.traced.js` beside a prebuilt `x.js`,
 * src/temporal/bundle.ts): it changes no command a workflow sends, only headers, so either bundle replays any
 * history, and a worker without tracing does not pay for a span around every step. Its spans leave the sandbox
 * through the `exporter` sink (workflowSpanSink drops them).
 */
export const WORKFLOW_INTERCEPTOR_MODULES: readonly string[] = [
  createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

export interface Tracing {
  readonly tracer: otel.Tracer;
  readonly spanProcessor: SpanProcessor;
  readonly resource: Resource;
  /** flushes the spans not yet exported, then stops */
  shutdown(): Promise<void>;
}

/**
 * Starts tracing for this process: a tracer provider exporting with OTLP/HTTP (batched), registered globally with
 * W3C trace context propagation and an async-local context manager (so a KubeSphere request's span is a child of
 * its activity's). `spanProcessor` replaces the exporter (tests: an in-memory one).
 */
export function startTracing(options: {
  serviceName: string;
  config?: TracingConfig;
  spanProcessor?: SpanProcessor;
}): Tracing {
  const resource = new Resource({ 'service.name': options.config?.serviceName ?? options.serviceName });
  const spanProcessor = new RedactingSpanProcessor(
    options.spanProcessor ?? new BatchSpanProcessor(new OTLPTraceExporter({ url: options.config?.endpoint })),
  );
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register({ contextManager: new AsyncLocalContextManager() });
  return {
    tracer: provider.getTracer('ks-onboard'),
    spanProcessor,
    resource,
    shutdown: () => provider.shutdown(),
  };
}

/** What a worker adds for tracing: activity interceptors, and the sink of the workflows' spans. */
export function workerTracing(tracing: Tracing | undefined): {
  activity: ActivityInterceptorsFactory[];
  sinks: InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }>;
} {
  if (!tracing) return { activity: [], sinks: workflowSpanSink() };
  const options = { tracer: tracing.tracer };
  return {
    activity: [
      (ctx) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(ctx, options),
        outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
    ],
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}

/** Without tracing, the bundled workflow interceptors' spans are dropped here (never "an unregistered sink"). */
export function workflowSpanSink(): InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }> {
  return { exporter: { export: { fn: () => undefined, callDuringReplay: false } } };
}

/** A client's interceptors: its starts, updates, signals and queries carry the trace to the workflow. */
export function clientTracing(tracing: Tracing | undefined): ClientInterceptors {
  return tracing ? { workflow: [new OpenTelemetryWorkflowClientInterceptor({ tracer: tracing.tracer })] } : {};
}

/**
 * A span for a KubeSphere request that has just ended (the transport's observer), a child of the active span (the
 * activity's): method, route (names replaced), status; never the path's names, a header or a body.
 */
export function traceKubeSphereCall(
  tracing: Tracing,
  origin: string,
  call: { method: string; path: string; status: number | string; seconds: number },
): void {
  const end = Date.now();
  const route = routeOf(call.path);
  const span = tracing.tracer.startSpan(`KubeSphere ${call.method} ${route}`, {
    kind: otel.SpanKind.CLIENT,
    startTime: end - call.seconds * 1000,
    attributes: {
      'http.request.method': call.method,
      'url.template': route,
      'server.address': origin,
      ...(typeof call.status === 'number'
        ? { 'http.response.status_code': call.status }
        : { 'error.type': call.status }),
    },
  });
  if (typeof call.status !== 'number' || call.status >= 500) span.setStatus({ code: otel.SpanStatusCode.ERROR });
  span.end(end);
}

/** OpenTelemetry's context carried through promises and callbacks with AsyncLocalStorage. */
export class AsyncLocalContextManager implements otel.ContextManager {
  private readonly storage = new AsyncLocalStorage<otel.Context>();

  active(): otel.Context {
    return this.storage.getStore() ?? otel.ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: otel.Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(context, () => fn.call(thisArg, ...args));
  }

  bind<T>(context: otel.Context, target: T): T {
    if (typeof target !== 'function') return target;
    const run = (thisArg: unknown, args: unknown[]) =>
      this.with(context, () => (target as (...a: unknown[]) => unknown).apply(thisArg, args));
    return function (this: unknown, ...args: unknown[]) {
      return run(this, args);
    } as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.storage.disable();
    return this;
  }
}
