import { createHash } from 'node:crypto';
import { z } from 'zod';
import { KubeSphereError, isKubeSphereError, scrubSecrets } from './errors.js';
import { tokenSchema, type TokenResponse } from './schemas.js';
import { abortedError, type Transport } from './transport.js';

export interface PasswordCredentials {
  username: string;
  password: string;
  clientId?: string;
  clientSecret?: string;
}

/**
 * Returns the credentials to log in with. It is called only when a login is due, and on every call
 * while the last login was rejected, so a worker can read a password file each time and pick up a fix
 * without a restart.
 */
export type CredentialsProvider = () => PasswordCredentials | Promise<PasswordCredentials>;

export type Credentials = PasswordCredentials | { token: string } | CredentialsProvider;

export type AuthHealth = { ok: true } | { ok: false; reason: string };

/** Hands out a bearer token; `renew` is called once after a 401 with the token that was refused. */
export interface TokenSource {
  /** The current token when no login or refresh is due, without a promise hop. */
  fresh(): string | undefined;
  /** `signal` stops this caller's wait, never a login that other callers share. */
  token(signal?: AbortSignal): Promise<string>;
  renew(refused: string, signal?: AbortSignal): Promise<string>;
  /** Values to scrub from any error message. */
  readonly secrets: readonly string[];
  health(): AuthHealth;
}

export interface TokenSourceOptions {
  /** Clock for token expiry (tests). */
  now?: () => number;
  /** Fired once each time KubeSphere rejects a set of login credentials; `reason` is for people. */
  onCredentialsRejected?: (reason: string) => void;
}

export function createTokenSource(
  credentials: Credentials,
  transport: Transport,
  options: TokenSourceOptions = {},
): TokenSource {
  if (typeof credentials === 'function') return new PasswordTokenSource(credentials, true, transport, options);
  if ('token' in credentials) return new StaticTokenSource(credentials.token);
  return new PasswordTokenSource(() => credentials, false, transport, options);
}

const REFUSED_TOKEN = 'the configured KubeSphere token was refused (expired or revoked)';

class StaticTokenSource implements TokenSource {
  readonly secrets: readonly string[];
  private refused = false;
  constructor(private readonly bearer: string) {
    this.secrets = [bearer];
  }
  fresh(): string {
    return this.bearer;
  }
  async token(): Promise<string> {
    return this.bearer;
  }
  async renew(): Promise<string> {
    // A refused token stays refused (expired, revoked, or its user disabled): calls keep failing with
    // KS_UNAUTHORIZED as they always did, and health says so.
    this.refused = true;
    throw new KubeSphereError('KS_UNAUTHORIZED', REFUSED_TOKEN);
  }
  health(): AuthHealth {
    return this.refused ? { ok: false, reason: REFUSED_TOKEN } : { ok: true };
  }
}

interface Session {
  access: string;
  refresh: string | undefined;
  /** epoch ms after which we refresh before use; Infinity when the server set no expiry */
  refreshAt: number;
}

interface Rejection {
  /** fingerprints of every set of credentials refused since the last successful login */
  fingerprints: Set<string>;
  /** the KS_CREDENTIALS_REJECTED message of the latest refusal */
  message: string;
}

const credentialsSchema = z.object({
  username: z.string({ error: 'must be a string' }).min(1, 'must not be empty'),
  password: z.string({ error: 'must be a string' }).min(1, 'must not be empty'),
  clientId: z.string({ error: 'must be a string' }).min(1, 'must not be empty when given').optional(),
  clientSecret: z.string({ error: 'must be a string' }).min(1, 'must not be empty when given').optional(),
});

/** Checks credentials without ever quoting them: zod's messages name the field, not the value. */
export function parseCredentials(value: unknown, operation: string): Required<PasswordCredentials> {
  const result = credentialsSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'credentials'} ${issue.message}`);
    throw new KubeSphereError('KS_BAD_INPUT', `${operation}: ${problems.join('; ')}`);
  }
  const { username, password, clientId = 'kubesphere', clientSecret = 'kubesphere' } = result.data;
  return { username, password, clientId, clientSecret };
}

/** At most this many refused credential sets are remembered (a password file edited over and over). */
const MAX_REMEMBERED = 16;

/**
 * OAuth password grant with refresh before expiry. Every path that talks to /oauth/token is single
 * flight, so a burst of callers after expiry costs one request.
 *
 * KubeSphere locks an account after 10 failed logins (§2), and a locked worker account stops every
 * onboarding. So credentials KubeSphere refused (invalid_grant, or 429 while locked) are remembered
 * and never sent again: later calls fail at once with KS_CREDENTIALS_REJECTED, without a request,
 * until the credentials provider answers with different credentials, which get exactly one attempt.
 */
class PasswordTokenSource implements TokenSource {
  private session: Session | undefined;
  private inflight: Promise<Session> | undefined;
  /** the credentials of the latest login: their secrets are scrubbed from every message */
  private current: Required<PasswordCredentials> | undefined;
  private rejection: Rejection | undefined;
  private readonly now: () => number;

  constructor(
    private readonly read: CredentialsProvider,
    private readonly isProvider: boolean,
    private readonly transport: Transport,
    private readonly options: TokenSourceOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  get secrets(): string[] {
    const current = this.current;
    return [
      current?.password ?? '',
      current && current.clientSecret !== 'kubesphere' ? current.clientSecret : '',
      this.session?.refresh ?? '',
    ];
  }

  health(): AuthHealth {
    return this.rejection ? { ok: false, reason: this.rejection.message } : { ok: true };
  }

  fresh(): string | undefined {
    const session = this.session;
    return session && this.now() < session.refreshAt ? session.access : undefined;
  }

  async token(signal?: AbortSignal): Promise<string> {
    const session = this.session;
    if (session && this.now() < session.refreshAt) return session.access;
    const next = await this.single(
      () => (session?.refresh ? this.refreshOrLogin(session.refresh) : this.login()),
      signal,
    );
    return next.access;
  }

  async renew(refused: string, signal?: AbortSignal): Promise<string> {
    // Another caller may already have replaced the refused token.
    if (this.session && this.session.access !== refused) return this.session.access;
    return (await this.single(() => this.login(), signal)).access;
  }

  private single(run: () => Promise<Session>, signal: AbortSignal | undefined): Promise<Session> {
    let wait: Promise<Session>;
    if (this.inflight) {
      // Joined a login that KubeSphere then refused: for this caller the credentials are already
      // known bad, and it gets the same answer as every caller after it.
      wait = this.inflight.catch((error: unknown) => {
        throw isRejection(error) && this.rejection ? this.rejectedError() : error;
      });
    } else {
      wait = this.inflight = run()
        .then((session) => {
          this.session = session;
          return session;
        })
        .finally(() => {
          this.inflight = undefined;
        });
    }
    return signal ? untilAborted(wait, signal) : wait;
  }

  private async refreshOrLogin(refreshToken: string): Promise<Session> {
    try {
      return await this.grant({ grant_type: 'refresh_token', refresh_token: refreshToken }, this.current, [
        refreshToken,
      ]);
    } catch (error) {
      // An expired refresh token is normal after a long idle period: log in again once.
      if (isKubeSphereError(error, 'KS_LOGIN_FAILED')) return this.login();
      throw error;
    }
  }

  private async login(): Promise<Session> {
    const credentials = parseCredentials(await this.read(), 'credentials');
    const fingerprint = fingerprintOf(credentials);
    if (this.rejection?.fingerprints.has(fingerprint)) throw this.rejectedError();
    this.current = credentials;
    try {
      const session = await this.grant(
        { grant_type: 'password', username: credentials.username, password: credentials.password },
        credentials,
        [],
      );
      this.rejection = undefined;
      return session;
    } catch (error) {
      if (isRejection(error)) this.remember(credentials, fingerprint, error);
      throw error;
    }
  }

  private remember(credentials: Required<PasswordCredentials>, fingerprint: string, error: KubeSphereError): void {
    // The old session belongs to credentials that no longer work; refreshing it would be one more request.
    this.session = undefined;
    const fingerprints = this.rejection?.fingerprints ?? new Set<string>();
    fingerprints.add(fingerprint);
    if (fingerprints.size > MAX_REMEMBERED) fingerprints.delete(fingerprints.values().next().value!);
    const why = oauthDescription(error);
    const fix = this.isProvider
      ? 'Fix the credentials; they are read again on the next call.'
      : 'Fix the credentials and restart.';
    const message = scrubSecrets(
      `KubeSphere rejected the login as "${credentials.username}" (${why}). The client will not try the same ` +
        `credentials again, because KubeSphere locks an account after repeated failed logins. ${fix}`,
      [credentials.password, credentials.clientSecret === 'kubesphere' ? '' : credentials.clientSecret],
    );
    this.rejection = { fingerprints, message };
    try {
      this.options.onCredentialsRejected?.(message);
    } catch {
      // The owner's callback must not turn a login failure into something else.
    }
  }

  private rejectedError(): KubeSphereError {
    return new KubeSphereError('KS_CREDENTIALS_REJECTED', this.rejection!.message);
  }

  private async grant(
    fields: Record<string, string>,
    credentials: Required<PasswordCredentials> | undefined,
    extraSecrets: string[],
  ): Promise<Session> {
    const startedAt = this.now();
    const token = await requestToken(
      this.transport,
      fields,
      credentials ?? { clientId: 'kubesphere', clientSecret: 'kubesphere' },
      [...this.secrets, ...extraSecrets],
    );
    return toSession(token, startedAt);
  }
}

/** A refused login: wrong credentials or client, or the account is locked. */
function isRejection(error: unknown): error is KubeSphereError {
  return isKubeSphereError(error, 'KS_LOGIN_FAILED') || isKubeSphereError(error, 'KS_LOCKED_OUT');
}

/** `Invalid username or password.` out of `invalid_grant: Invalid username or password.` */
function oauthDescription(error: KubeSphereError): string {
  const text = error.serverMessage;
  const prefix = error.reason ? `${error.reason}: ` : '';
  const described = prefix && text.startsWith(prefix) ? text.slice(prefix.length) : text;
  return described || `HTTP ${error.status ?? '?'}`;
}

function fingerprintOf(credentials: Required<PasswordCredentials>): string {
  // A digest, so that refused passwords are not kept around in memory as well.
  return createHash('sha256')
    .update(
      JSON.stringify([credentials.username, credentials.password, credentials.clientId, credentials.clientSecret]),
    )
    .digest('hex');
}

/**
 * One POST /oauth/token. Never retried here: a retried password grant is one more failed login towards
 * the lockout. Non-200 answers become coded errors (KS_LOGIN_FAILED, KS_LOCKED_OUT, …) with every
 * secret scrubbed.
 */
export async function requestToken(
  transport: Transport,
  fields: Record<string, string>,
  client: { clientId: string; clientSecret: string },
  secrets: readonly string[],
  signal?: AbortSignal,
): Promise<TokenResponse> {
  const request = {
    method: 'POST',
    path: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ ...fields, client_id: client.clientId, client_secret: client.clientSecret }).toString(),
    secrets: [...secrets, fields.password ?? '', client.clientSecret === 'kubesphere' ? '' : client.clientSecret],
    signal,
  };
  const response = await transport.send(request);
  if (response.status !== 200) transport.fail(response, request);
  const parsed = tokenSchema.safeParse(safeJson(response.text));
  if (!parsed.success) {
    throw new KubeSphereError('KS_BAD_RESPONSE', 'the token endpoint answered 200 without a usable access_token', {
      method: 'POST',
      path: '/oauth/token',
      status: 200,
    });
  }
  return parsed.data;
}

/** Waits for `promise` unless `signal` fires first (KS_ABORTED); the shared work goes on for others. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortedError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

function toSession(token: TokenResponse, issuedAt: number): Session {
  const lifetimeMs = (token.expires_in ?? 0) * 1000;
  // Refresh ahead of expiry by a tenth of the lifetime, between 5 s and 5 min.
  const margin = Math.min(300_000, Math.max(5_000, lifetimeMs / 10));
  return {
    access: token.access_token,
    refresh: token.refresh_token || undefined,
    refreshAt: lifetimeMs > 0 ? issuedAt + lifetimeMs - margin : Number.POSITIVE_INFINITY,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
