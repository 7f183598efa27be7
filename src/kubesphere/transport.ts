import { Agent, type Dispatcher } from 'undici';
import { KubeSphereError, errorFromResponse, scrubSecrets } from './errors.js';
import type { RequestPacer } from './pacer.js';

/** The only methods that may ever leave this process: nothing here can delete or patch. */
export const ALLOWED_METHODS = ['GET', 'POST', 'PUT'] as const;
export type AllowedMethod = (typeof ALLOWED_METHODS)[number];
const ALLOWED = new Set<string>(ALLOWED_METHODS);

export interface TransportOptions {
  /** e.g. `http://ks-apiserver.kubesphere-system.svc` or `https://ks.example.com/prefix` */
  baseUrl: string;
  /** Injected for tests (undici MockAgent); by default one keep-alive Agent per client. */
  dispatcher?: Dispatcher;
  /** Bounded connections to KubeSphere (default 32). */
  connections?: number;
  connectTimeoutMs?: number;
  /** Until the answer's headers arrive (default 10 s). */
  headersTimeoutMs?: number;
  /** Between two pieces of the answer's body (default 10 s). */
  bodyTimeoutMs?: number;
  /**
   * Whole-request deadline, queueing for a connection included (default 10 s): the request is aborted
   * and fails with KS_TIMEOUT. Below Temporal's 15 s attempt timeout, so no attempt outlives its request.
   */
  requestTimeoutMs?: number;
  /** Larger answers are refused rather than held in memory (default 64 MiB). */
  maxResponseBytes?: number;
  /**
   * Told of every request sent, once it has its answer or its error (metrics, tracing); it must not throw. Its
   * path may carry names (a user, a workspace): an observer keeps them out of labels.
   */
  observe?: (observation: RequestObservation) => void;
  /**
   * Paces this client's requests, queued in order (default: unpaced). Protects KubeSphere whatever path a request
   * takes: an activity, a local activity, a verification read.
   */
  pacer?: RequestPacer;
}

/** What an observer learns of a request: never a header, a query, a body or an answer. */
export interface RequestObservation {
  method: string;
  /** below the base URL, without the query */
  path: string;
  /** the HTTP status, or the error's code when no answer came (KS_TIMEOUT, KS_NETWORK, KS_ABORTED…) */
  status: number | string;
  seconds: number;
}

export interface HttpRequest {
  method: string;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  body?: string;
  /** Values that must never appear in an error message (passwords, tokens). */
  secrets?: readonly string[];
  /** Stops the request at once when it fires (KS_ABORTED). */
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  contentType: string | undefined;
  text: string;
}

/** One keep-alive connection pool to one KubeSphere, with timeouts and the method guard. */
export class Transport {
  readonly origin: string;
  private readonly basePath: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly headersTimeout: number;
  private readonly bodyTimeout: number;
  private readonly requestTimeout: number;
  private readonly maxResponseBytes: number;
  private readonly observe: TransportOptions['observe'];
  private readonly pacer: RequestPacer | undefined;

  constructor(options: TransportOptions) {
    const url = parseBaseUrl(options.baseUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.headersTimeout = options.headersTimeoutMs ?? 10_000;
    this.bodyTimeout = options.bodyTimeoutMs ?? 10_000;
    this.requestTimeout = options.requestTimeoutMs ?? 10_000;
    this.maxResponseBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
    this.observe = options.observe;
    this.pacer = options.pacer;
    this.ownsDispatcher = !options.dispatcher;
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        connections: options.connections ?? 32,
        keepAliveTimeout: 30_000,
        connect: { timeout: options.connectTimeoutMs ?? 10_000 },
      });
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    const method = request.method.toUpperCase();
    if (!ALLOWED.has(method)) {
      throw new KubeSphereError(
        'KS_METHOD_REFUSED',
        `method ${method} is refused: ks-onboard only reads, creates and updates`,
        {
          method,
          path: request.path,
        },
      );
    }
    // An already cancelled call sends nothing at all.
    if (request.signal?.aborted) throw abortedError(request.signal.reason, method, request.path);
    if (this.pacer)
      await this.pacer.take(request.signal).catch((reason: unknown) => {
        throw abortedError(reason, method, request.path);
      });
    const path = this.basePath + request.path + queryString(request.query);
    const started = this.observe ? performance.now() : 0;
    try {
      const response = await exchange(
        this.dispatcher,
        {
          origin: this.origin,
          path,
          method: method as AllowedMethod,
          headers: request.headers,
          body: request.body,
          headersTimeout: this.headersTimeout,
          bodyTimeout: this.bodyTimeout,
        },
        { maxBytes: this.maxResponseBytes, deadlineMs: this.requestTimeout, signal: request.signal },
      );
      if (this.observe) this.observed(method, request.path, response.status, started);
      return response;
    } catch (error) {
      const failure = networkError(error, method, request.path, request.secrets ?? []);
      if (this.observe) this.observed(method, request.path, failure.code, started);
      throw failure;
    }
  }

  private observed(method: string, path: string, status: number | string, started: number): void {
    try {
      this.observe?.({ method, path, status, seconds: (performance.now() - started) / 1000 });
    } catch {
      // an observer never fails a request
    }
  }

  /** Throws the coded error for a non-2xx answer. */
  fail(response: HttpResponse, request: HttpRequest): never {
    throw errorFromResponse(response.status, response.text, response.contentType, {
      method: request.method.toUpperCase(),
      path: request.path,
      secrets: request.secrets,
    });
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}

function parseBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new KubeSphereError('KS_BAD_INPUT', `KubeSphere URL "${baseUrl}" is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new KubeSphereError('KS_BAD_INPUT', `KubeSphere URL must be http or https, got ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new KubeSphereError('KS_BAD_INPUT', 'KubeSphere URL must not carry credentials; pass them as options');
  }
  return url;
}

/**
 * One request through undici's dispatch API, collecting the whole answer in memory.
 * KubeSphere answers are small JSON documents, so the stream that `request()` wraps each
 * answer in buys nothing here and costs more per call than checking the answer does.
 *
 * The deadline and the caller's signal settle the promise at once, even while the request still
 * waits for a free connection; the request itself is aborted through undici's controller (which
 * closes its connection) as soon as it has one, so nothing is left running on either side.
 */
function exchange(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  limits: { maxBytes: number; deadlineMs: number; signal: AbortSignal | undefined },
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let contentType: string | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let controller: Dispatcher.DispatchController | undefined;
    let stopped: Error | undefined;
    let settled = false;
    const { signal } = limits;

    const settle = () => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const stop = (reason: Error) => {
      if (settled) return;
      settle();
      stopped = reason;
      reject(reason);
      controller?.abort(reason);
    };
    const onAbort = () => stop(new CallerAborted(signal?.reason));
    const timer = setTimeout(() => stop(new DeadlineExceeded(limits.deadlineMs)), limits.deadlineMs);
    timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });

    try {
      dispatcher.dispatch(options, {
        onRequestStart(started) {
          controller = started;
          // Stopped while it waited for a connection: do not send it now.
          if (stopped) started.abort(stopped);
        },
        onResponseStart(_controller, statusCode, headers) {
          // Called again after a 1xx informational answer: the last one is the answer.
          status = statusCode;
          contentType = headerValue(headers['content-type']);
          chunks.length = 0;
          size = 0;
        },
        onResponseData(current, chunk) {
          size += chunk.length;
          if (size > limits.maxBytes) {
            current.abort(new ResponseTooLarge(limits.maxBytes));
            return;
          }
          chunks.push(chunk);
        },
        onResponseEnd() {
          if (settled) return;
          settle();
          const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          const text = body.toString('utf8');
          // Like fetch's text(): a byte order mark is not part of the document.
          resolve({ status, contentType, text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text });
        },
        onResponseError(_controller, error) {
          if (settled) return;
          settle();
          reject(error);
        },
      });
    } catch (error) {
      settle();
      reject(error as Error);
    }
  });
}

/** The whole-request deadline passed. */
class DeadlineExceeded extends Error {
  constructor(readonly limitMs: number) {
    super(`no complete answer within ${limitMs} ms`);
    this.name = 'DeadlineExceeded';
  }
}

/** The caller's signal fired; `cause` is the signal's reason. */
class CallerAborted extends Error {
  constructor(reason: unknown) {
    super('the caller aborted the request', { cause: reason });
    this.name = 'CallerAborted';
  }
}

class ResponseTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`answer larger than ${limit} bytes`);
  }
}

function queryString(query: HttpRequest['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

function networkError(error: unknown, method: string, path: string, secrets: readonly string[]): KubeSphereError {
  if (error instanceof KubeSphereError) return error;
  if (error instanceof ResponseTooLarge) {
    return new KubeSphereError(
      'KS_BAD_RESPONSE',
      `KubeSphere's answer is larger than ${error.limit} bytes; refused rather than held in memory`,
      { method, path, cause: error },
    );
  }
  if (error instanceof CallerAborted) return abortedError(error.cause, method, path);
  if (error instanceof DeadlineExceeded) {
    return new KubeSphereError(
      'KS_TIMEOUT',
      `KubeSphere did not answer within the ${error.limitMs} ms request deadline; the request was aborted`,
      { method, path, cause: error },
    );
  }
  const code = (error as { code?: string }).code ?? 'UNKNOWN';
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  const detail = scrubSecrets(`${code}${cause && cause !== code ? `/${cause}` : ''}`, secrets);
  // undici's own error stays attached as the cause: its stack and socket details matter when debugging.
  if (TIMEOUT_CODES.has(code)) {
    return new KubeSphereError('KS_TIMEOUT', `KubeSphere did not answer in time (${detail})`, {
      method,
      path,
      cause: error,
    });
  }
  return new KubeSphereError('KS_NETWORK', `could not reach KubeSphere (${detail})`, { method, path, cause: error });
}

/** KS_ABORTED: the caller cancelled (e.g. Temporal cancelled the activity); retrying is theirs to decide. */
export function abortedError(reason: unknown, method?: string, path?: string): KubeSphereError {
  return new KubeSphereError('KS_ABORTED', 'the call was aborted by its caller', {
    method,
    path,
    cause: reason,
  });
}
