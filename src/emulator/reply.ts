/** An HTTP answer the server writes (or, under fault injection, drops). */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Thrown by handlers to answer early; the router turns it into the reply. */
export class ReplyError extends Error {
  constructor(readonly reply: Reply) {
    super(`HTTP ${reply.status}`);
  }
}

export function fail(reply: Reply): never {
  throw new ReplyError(reply);
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(value) };
}

/** Shape 1 (§1.4): a kapis handler error is Go's http.Error: plain text, escaped, with a newline. */
export function text(status: number, message: string): Reply {
  return {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
    body: `${message.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}\n`,
  };
}

/** Shape 2: authentication/authorization filter errors are a Kubernetes Status. */
export function status(
  code: 401 | 403,
  message: string,
  details?: { name?: string; group: string; kind: string },
): Reply {
  const reason = code === 401 ? 'Unauthorized' : 'Forbidden';
  return json(code, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(code === 403 && details ? { details } : {}),
    code,
  });
}

/** Shape 3: multicluster dispatch errors are a raw StatusError under ErrStatus. */
export function errStatus(code: 400 | 503, message: string): Reply {
  const reason = code === 400 ? 'BadRequest' : 'ServiceUnavailable';
  return json(code, { ErrStatus: { metadata: {}, status: 'Failure', message, reason, code } });
}

/** Shape 4: OAuth errors (RFC 6749). */
export function oauthError(code: number, error: string, description: string): Reply {
  return json(code, { error, error_description: description }, { 'cache-control': 'no-store', pragma: 'no-cache' });
}

export const SUCCESS = (): Reply => json(200, { message: 'success' });
export const PAGE_NOT_FOUND = (): Reply => ({
  status: 404,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body: '404: Page Not Found',
});
export const METHOD_NOT_ALLOWED = (): Reply => ({
  status: 405,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body: '405: Method Not Allowed',
});
