import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { redactedSpan } from './redact.js';

describe('spans leaving for a tracing backend', () => {
  it('carry failure messages without emails or sealed values, and no stack', () => {
    const message = 'user alice already exists but differs: email is "alice@example.com", requested "a@example.org"';
    const span = {
      name: 'RunActivity:ensureUser',
      status: { code: SpanStatusCode.ERROR, message },
      events: [
        {
          name: 'exception',
          time: [0, 0],
          attributes: {
            'exception.type': 'ApplicationFailure',
            'exception.message': `${message} ks-sealed:v1:abc`,
            'exception.stacktrace': `Error: ${message}\n    at x`,
          },
        },
        { name: 'other', time: [0, 0], attributes: { keep: 'me' } },
      ],
      attributes: { temporalWorkflowId: 'onboard-alice' },
    } as unknown as ReadableSpan;
    const out = redactedSpan(span);
    const text = JSON.stringify({ status: out.status, events: out.events });
    expect(text).not.toMatch(/@example\.(com|org)/);
    expect(text).not.toContain('ks-sealed:');
    expect(text).not.toContain('stacktrace');
    expect(out.status).toEqual({ code: SpanStatusCode.ERROR, message: expect.stringContaining('<email>') });
    expect(out.events[1]).toBe(span.events[1]);
    expect(out.name).toBe('RunActivity:ensureUser');
    expect(span.status.message).toBe(message);
  });
});
