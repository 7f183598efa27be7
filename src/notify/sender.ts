import { Agent, request, type Dispatcher } from 'undici';
import { Webhook } from 'standardwebhooks';

/**
 * POSTs one signed body the Standard Webhooks way (https://www.standardwebhooks.com): `webhook-id` (the caller's,
 * stable across retries so the receiver can drop a repeat), `webhook-timestamp` (now: receivers refuse old ones,
 * so every retry is signed afresh), `webhook-signature` (v1, HMAC-SHA256 of `id.timestamp.body`). Knows nothing of
 * Temporal: it answers or throws one of the two errors below. No message carries the URL's path or query (a chat's
 * webhook URL is a credential), the secret or the signature.
 */

export interface SenderConfig {
  url: string;
  secret: string;
}

export interface SenderOptions {
  /** injected for tests; by default one keep-alive Agent, closed by close() */
  dispatcher?: Dispatcher;
  /** whole-request deadline (default 10 s, inside the activity attempt's 15 s) */
  timeoutMs?: number;
  now?: () => Date;
}

/** The receiver said no in a way a retry would hear again (3xx, 4xx but 408 and 429). */
export class NotificationRefusedError extends Error {
  override readonly name = 'NotificationRefusedError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The receiver could not take it now (network, timeout, 408, 429, 5xx): worth retrying. */
export class NotificationUnavailableError extends Error {
  override readonly name = 'NotificationUnavailableError';
  constructor(
    message: string,
    readonly status?: number,
    /** from a 429's or 503's Retry-After, when it gave one */
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface Sender {
  /** where it sends, for logs and messages: the URL's origin only */
  readonly origin: string;
  send(id: string, body: string, signal?: AbortSignal): Promise<{ status: number }>;
  close(): Promise<void>;
}

const MAX_RETRY_AFTER_MS = 10 * 60_000;

export function createSender(config: SenderConfig, options: SenderOptions = {}): Sender {
  const webhook = new Webhook(config.secret);
  const url = new URL(config.url);
  const origin = url.origin;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? (() => new Date());
  const ownsDispatcher = !options.dispatcher;
  const dispatcher =
    options.dispatcher ?? new Agent({ connections: 4, keepAliveTimeout: 30_000, connect: { timeout: timeoutMs } });

  return {
    origin,
    async send(id, body, signal) {
      const sentAt = now();
      const deadline = AbortSignal.timeout(timeoutMs);
      let status: number;
      let retryAfter: string | string[] | undefined;
      try {
        const response = await request(url, {
          method: 'POST',
          dispatcher,
          signal: signal ? AbortSignal.any([deadline, signal]) : deadline,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'ks-onboard-notify',
            'webhook-id': id,
            'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
            'webhook-signature': webhook.sign(id, sentAt, body),
          },
          body,
        });
        status = response.statusCode;
        retryAfter = response.headers['retry-after'];
        // Read and dropped (a little of it): destroying the body instead would surface an unhandled abort.
        await response.body.dump({ limit: 64 * 1024 });
      } catch (error) {
        if (deadline.aborted)
          throw new NotificationUnavailableError(
            `${origin} did not answer within ${timeoutMs} ms`,
            undefined,
            undefined,
            {
              cause: error,
            },
          );
        if (signal?.aborted) throw error;
        throw new NotificationUnavailableError(
          `could not reach ${origin} (${errorCode(error)})`,
          undefined,
          undefined,
          {
            cause: error,
          },
        );
      }
      if (status >= 200 && status < 300) return { status };
      if (status === 408 || status === 429 || status >= 500)
        throw new NotificationUnavailableError(
          `${origin} answered HTTP ${status}`,
          status,
          retryAfterMs(retryAfter, now()),
        );
      throw new NotificationRefusedError(
        `${origin} refused the notification with HTTP ${status}${refusalHint(status)}`,
        status,
      );
    },
    async close() {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
}

function refusalHint(status: number): string {
  if (status === 401 || status === 403) return ': check that the receiver has the same KS_ONBOARD_NOTIFY_SECRET';
  if (status >= 300 && status < 400) return ': redirects are not followed, set KS_ONBOARD_NOTIFY_URL to the final URL';
  if (status === 404 || status === 405 || status === 410) return ': check KS_ONBOARD_NOTIFY_URL';
  return '';
}

function errorCode(error: unknown): string {
  const seen = new Set<unknown>();
  for (let current = error; current && !seen.has(current); current = (current as { cause?: unknown }).cause) {
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return error instanceof Error ? error.name : 'error';
}

/** Retry-After in seconds or as an HTTP date; undefined when absent, unreadable or beyond ten minutes. */
export function retryAfterMs(header: string | string[] | undefined, now: Date): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const ms = /^\d{1,6}$/.test(value.trim()) ? Number(value.trim()) * 1000 : Date.parse(value) - now.getTime();
  return Number.isFinite(ms) && ms > 0 && ms <= MAX_RETRY_AFTER_MS ? ms : undefined;
}
