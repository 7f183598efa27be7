import type { Dispatcher } from 'undici';
import { parseCredentials, requestToken } from './auth.js';
import { Transport } from './transport.js';

export interface LoginOnceOptions {
  baseUrl: string;
  username: string;
  password: string;
  clientId?: string;
  clientSecret?: string;
  /** Deadline of the one request (default 10 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Injected for tests. */
  dispatcher?: Dispatcher;
}

export interface LoginResult {
  accessToken: string;
  expiresInSeconds?: number;
}

/**
 * One password login for a person at a terminal (e.g. a CLI proving who approves): exactly one
 * POST /oauth/token, never retried, because each failed try counts towards KubeSphere's lockout.
 * Errors: KS_LOGIN_FAILED (invalid_grant and other OAuth refusals), KS_LOCKED_OUT (429),
 * KS_BAD_INPUT, KS_NETWORK, KS_TIMEOUT, KS_ABORTED, KS_UNAVAILABLE. No message ever holds the password.
 */
export async function loginOnce(options: LoginOnceOptions): Promise<LoginResult> {
  const credentials = parseCredentials(
    {
      username: options.username,
      password: options.password,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
    },
    'loginOnce',
  );
  const timeout = options.timeoutMs ?? 10_000;
  const transport = new Transport({
    baseUrl: options.baseUrl,
    dispatcher: options.dispatcher,
    connections: 1,
    headersTimeoutMs: timeout,
    bodyTimeoutMs: timeout,
    requestTimeoutMs: timeout,
  });
  try {
    const token = await requestToken(
      transport,
      { grant_type: 'password', username: credentials.username, password: credentials.password },
      credentials,
      [],
      options.signal,
    );
    return {
      accessToken: token.access_token,
      ...(token.expires_in ? { expiresInSeconds: token.expires_in } : {}),
    };
  } finally {
    await transport.close();
  }
}
