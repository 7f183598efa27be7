import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { redact } from '../notify/events.js';

/**
 * Failure messages name people (a mismatch names both emails) and are encrypted in Temporal's history; a tracing
 * backend is outside that. The SDK's interceptors put a failure's message and stack on the span (its status and an
 * `exception` event): they reach the exporter with emails and sealed values replaced, and no stack.
 */
export class RedactingSpanProcessor implements SpanProcessor {
  constructor(private readonly inner: SpanProcessor) {}

  onStart(span: Span, parentContext: Context): void {
    this.inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    this.inner.onEnd(redactedSpan(span));
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

export function redactedSpan(span: ReadableSpan): ReadableSpan {
  const copy = Object.create(span) as ReadableSpan;
  const { code, message } = span.status;
  Object.defineProperty(copy, 'status', { value: { code, ...(message ? { message: redact(message) } : {}) } });
  Object.defineProperty(copy, 'events', {
    value: span.events.map((event) => {
      if (event.name !== 'exception' || !event.attributes) return event;
      const { 'exception.stacktrace': _stack, 'exception.message': text, ...rest } = event.attributes;
      return {
        ...event,
        attributes: { ...rest, ...(typeof text === 'string' ? { 'exception.message': redact(text) } : {}) },
      };
    }),
  });
  return copy;
}
