/**
 * Coded errors for everything the KubeSphere client can meet. Callers match on `code`, never on
 * message text: the message is for people and is scrubbed of secrets before it is built.
 */
export const KS_ERROR_CODES = [
  'KS_ALREADY_EXISTS',
  'KS_NOT_FOUND',
  'KS_INVALID',
  'KS_FORBIDDEN',
  'KS_EMAIL_REJECTED',
  'KS_UNAUTHORIZED',
  'KS_LOGIN_FAILED',
  'KS_LOCKED_OUT',
  'KS_STALE',
  'KS_UNAVAILABLE',
  'KS_CLUSTER_UNKNOWN',
  'KS_NETWORK',
  'KS_TIMEOUT',
  'KS_BAD_RESPONSE',
  'KS_BAD_INPUT',
  'KS_METHOD_REFUSED',
  /** These exact login credentials were refused before: not sent again, so the account cannot be locked. */
  'KS_CREDENTIALS_REJECTED',
  /** The caller's AbortSignal fired; the request was stopped. */
  'KS_ABORTED',
] as const;

export type KubeSphereErrorCode = (typeof KS_ERROR_CODES)[number];

/**
 * Reasons the client itself works out when the status and code alone cannot tell cases apart; set in
 * `KubeSphereError.reason` so callers test a field, never the message text.
 */
export const KS_REASONS = {
  /** getProject: the namespace exists but carries another workspace's label (§7, lower-case 404 text). */
  inAnotherWorkspace: 'in-another-workspace',
} as const;
export type KubeSphereClientReason = (typeof KS_REASONS)[keyof typeof KS_REASONS];

export interface KubeSphereErrorDetails {
  status?: number;
  /**
   * `reason` of a Kubernetes Status or the `error` of an OAuth answer, when the server gave one; or one
   * of KS_REASONS, when the client recognised the case.
   */
  reason?: string;
  method?: string;
  path?: string;
  /** The underlying error (undici's, for transport failures), kept for logs and debuggers. */
  cause?: unknown;
}

const brand = Symbol.for('ks-onboard.KubeSphereError');

export class KubeSphereError extends Error {
  readonly code: KubeSphereErrorCode;
  readonly status: number | undefined;
  readonly reason: string | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  /** The server's own message (scrubbed), without our request context. */
  readonly serverMessage: string;

  constructor(code: KubeSphereErrorCode, message: string, details: KubeSphereErrorDetails = {}) {
    const where =
      details.method && details.path
        ? ` (${details.method} ${details.path}${details.status ? ` → ${details.status}` : ''})`
        : '';
    super(`${message}${where}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'KubeSphereError';
    this.code = code;
    this.serverMessage = message;
    this.status = details.status;
    this.reason = details.reason;
    this.method = details.method;
    this.path = details.path;
    Object.defineProperty(this, brand, { value: true });
  }

  // Survives duplicate module copies (vitest, bundlers): match the brand, not the class identity.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }
}

export function isKubeSphereError(value: unknown, code?: KubeSphereErrorCode): value is KubeSphereError {
  return value instanceof KubeSphereError && (code === undefined || value.code === code);
}

/** Replaces every secret (raw, and as Go/JSON would quote it) with a marker. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    const quoted = JSON.stringify(secret).slice(1, -1);
    for (const form of new Set([secret, quoted, encodeURIComponent(secret)])) {
      out = out.split(form).join('[REDACTED]');
    }
  }
  return out;
}

const ALREADY_EXISTS_TEXT = /^\S+ "[^"]*" already exists$/;
const STALE_TEXT = /the object has been modified|Operation cannot be fulfilled/;
const EMAIL_WEBHOOK_TEXT =
  /^admission webhook "(users\.iam\.kubesphere\.io|validating-user\.kubesphere\.io)" denied the request/;
const UNKNOWN_CLUSTER_TEXT = /^cluster \S+ not exists$/;

interface ParsedBody {
  message: string;
  reason?: string;
  kind: 'text' | 'status' | 'errstatus' | 'oauth';
}

/** Reads any of KubeSphere's four error body shapes (kubesphere-api.md §1.4) into one message. */
export function parseErrorBody(body: string, contentType: string | undefined): ParsedBody {
  const trimmed = body.trim();
  if (trimmed.startsWith('{') && (contentType?.includes('json') ?? true)) {
    try {
      const json = JSON.parse(trimmed) as Record<string, unknown>;
      if (typeof json.error === 'string') {
        const description = typeof json.error_description === 'string' ? json.error_description : '';
        return {
          kind: 'oauth',
          reason: json.error,
          message: description ? `${json.error}: ${description}` : json.error,
        };
      }
      const errStatus = json.ErrStatus as Record<string, unknown> | undefined;
      if (errStatus && typeof errStatus === 'object') {
        return {
          kind: 'errstatus',
          message: String(errStatus.message ?? ''),
          reason: optionalString(errStatus.reason),
        };
      }
      if (json.kind === 'Status' || (typeof json.message === 'string' && json.status === 'Failure')) {
        return { kind: 'status', message: String(json.message ?? ''), reason: optionalString(json.reason) };
      }
    } catch {
      // Not JSON after all: fall through to plain text.
    }
  }
  return { kind: 'text', message: unescapeGoHtml(body.replace(/\n$/, '')) };
}

/** Maps an HTTP error answer to a coded error. `secrets` are removed from the message. */
export function errorFromResponse(
  status: number,
  body: string,
  contentType: string | undefined,
  context: { method: string; path: string; secrets?: readonly string[] },
): KubeSphereError {
  const parsed = parseErrorBody(body, contentType);
  const message = scrubSecrets(parsed.message || `HTTP ${status}`, context.secrets ?? []);
  const code = classify(status, parsed, message);
  return new KubeSphereError(code, message, {
    status,
    reason: parsed.reason,
    method: context.method,
    path: context.path,
  });
}

function classify(status: number, parsed: ParsedBody, message: string): KubeSphereErrorCode {
  if (parsed.kind === 'oauth') {
    if (status === 429) return 'KS_LOCKED_OUT';
    if (status >= 500) return 'KS_UNAVAILABLE';
    return 'KS_LOGIN_FAILED';
  }
  if (parsed.kind === 'errstatus' && UNKNOWN_CLUSTER_TEXT.test(message)) return 'KS_CLUSTER_UNKNOWN';
  switch (status) {
    case 400:
      if (ALREADY_EXISTS_TEXT.test(message)) return 'KS_ALREADY_EXISTS';
      if (UNKNOWN_CLUSTER_TEXT.test(message)) return 'KS_CLUSTER_UNKNOWN';
      return 'KS_INVALID';
    case 401:
      return 'KS_UNAUTHORIZED';
    case 403:
      return EMAIL_WEBHOOK_TEXT.test(message) ? 'KS_EMAIL_REJECTED' : 'KS_FORBIDDEN';
    case 404:
      return 'KS_NOT_FOUND';
    case 409:
      return STALE_TEXT.test(message) ? 'KS_STALE' : 'KS_ALREADY_EXISTS';
    case 429:
      return 'KS_LOCKED_OUT';
  }
  if (status >= 500) return 'KS_UNAVAILABLE';
  return 'KS_INVALID';
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

// Go's http.Error escapes these three; undo it so messages read as the server meant them.
function unescapeGoHtml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
