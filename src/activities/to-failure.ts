import { ApplicationFailure } from '@temporalio/activity';
import { isKubeSphereError, type KubeSphereErrorCode } from '../kubesphere/errors.js';
import { FailureType, type FieldDifference } from '../failures.js';

/**
 * The one place that decides what Temporal retries. Transient: network, timeouts, 5xx, stale writes.
 * Never: validation, permission, a bad login (retrying would lock the admin account after 10 tries),
 * a lockout, an unknown cluster.
 */
const RETRYABLE: ReadonlySet<KubeSphereErrorCode> = new Set(['KS_UNAVAILABLE', 'KS_NETWORK', 'KS_TIMEOUT', 'KS_STALE']);

export function isRetryable(code: KubeSphereErrorCode): boolean {
  return RETRYABLE.has(code);
}

/** Turns anything an activity throws into an ApplicationFailure with a stable type and no secrets. */
export function toFailure(error: unknown): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  if (isKubeSphereError(error)) {
    return ApplicationFailure.create({
      type: error.code,
      // Already scrubbed of passwords and tokens by the client; never the request body.
      message: error.message,
      nonRetryable: !isRetryable(error.code),
      details: [{ code: error.code, status: error.status ?? null }],
    });
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return ApplicationFailure.create({ type: 'InternalError', message, nonRetryable: false });
}

export function mismatch(what: string, differences: FieldDifference[]): ApplicationFailure {
  const list = differences.map((d) => `${d.field} is "${d.existing}", requested "${d.requested}"`).join('; ');
  return ApplicationFailure.create({
    type: FailureType.ResourceMismatch,
    message: `${what} already exists but differs: ${list}`,
    nonRetryable: true,
    details: differences,
  });
}

export function failure(type: FailureType, message: string, nonRetryable: boolean): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable });
}

/** Wraps every activity of a group so that whatever escapes is mapped once, here. */
export function mapFailures<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (error) {
        throw toFailure(error);
      }
    };
  }
  return wrapped as T;
}
