import { KubeSphereError } from './errors.js';
import { tokenSchema, type TokenResponse } from './schemas.js';
import type { Transport } from './transport.js';

export type Credentials =
  { username: string; password: string; clientId?: string; clientSecret?: string } | { token: string };

/** Hands out a bearer token; `renew` is called once after a 401 with the token that was refused. */
export interface TokenSource {
  /** The current token when no login or refresh is due, without a promise hop. */
  fresh(): string | undefined;
  token(): Promise<string>;
  renew(refused: string): Promise<string>;
  /** Values to scrub from any error message. */
  readonly secrets: readonly string[];
}

export function createTokenSource(
  credentials: Credentials,
  transport: Transport,
  now: () => number = Date.now,
): TokenSource {
  if ('token' in credentials) return new StaticTokenSource(credentials.token);
  return new PasswordTokenSource(credentials, transport, now);
}

class StaticTokenSource implements TokenSource {
  readonly secrets: readonly string[];
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
    throw new KubeSphereError('KS_UNAUTHORIZED', 'the configured KubeSphere token was refused (expired or revoked)');
  }
}

interface Session {
  access: string;
  refresh: string | undefined;
  /** epoch ms after which we refresh before use; Infinity when the server set no expiry */
  refreshAt: number;
}

/**
 * OAuth password grant with refresh before expiry. Every path that talks to /oauth/token is single
 * flight, so a burst of callers after expiry costs one request, and a bad password costs one failed
 * login (KubeSphere locks the account after 10 of them).
 */
class PasswordTokenSource implements TokenSource {
  private session: Session | undefined;
  private inflight: Promise<Session> | undefined;
  private readonly clientId: string;
  private readonly clientSecret: string;

  constructor(
    private readonly credentials: { username: string; password: string; clientId?: string; clientSecret?: string },
    private readonly transport: Transport,
    private readonly now: () => number,
  ) {
    this.clientId = credentials.clientId ?? 'kubesphere';
    this.clientSecret = credentials.clientSecret ?? 'kubesphere';
  }

  get secrets(): string[] {
    return [
      this.credentials.password,
      this.clientSecret === 'kubesphere' ? '' : this.clientSecret,
      this.session?.refresh ?? '',
    ];
  }

  fresh(): string | undefined {
    const session = this.session;
    return session && this.now() < session.refreshAt ? session.access : undefined;
  }

  async token(): Promise<string> {
    const session = this.session;
    if (session && this.now() < session.refreshAt) return session.access;
    return (await this.single(() => (session?.refresh ? this.refreshOrLogin(session.refresh) : this.login()))).access;
  }

  async renew(refused: string): Promise<string> {
    // Another caller may already have replaced the refused token.
    if (this.session && this.session.access !== refused) return this.session.access;
    return (await this.single(() => this.login())).access;
  }

  private single(run: () => Promise<Session>): Promise<Session> {
    this.inflight ??= run()
      .then((session) => {
        this.session = session;
        return session;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  private async refreshOrLogin(refreshToken: string): Promise<Session> {
    try {
      return await this.grant({ grant_type: 'refresh_token', refresh_token: refreshToken }, [refreshToken]);
    } catch (error) {
      // An expired refresh token is normal after a long idle period: log in again once.
      if (error instanceof KubeSphereError && error.code === 'KS_LOGIN_FAILED') return this.login();
      throw error;
    }
  }

  private login(): Promise<Session> {
    return this.grant(
      { grant_type: 'password', username: this.credentials.username, password: this.credentials.password },
      [],
    );
  }

  private async grant(fields: Record<string, string>, extraSecrets: string[]): Promise<Session> {
    const request = {
      method: 'POST',
      path: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ ...fields, client_id: this.clientId, client_secret: this.clientSecret }).toString(),
      secrets: [...this.secrets, ...extraSecrets],
    };
    const startedAt = this.now();
    const response = await this.transport.send(request);
    if (response.status !== 200) this.transport.fail(response, request);
    const parsed = tokenSchema.safeParse(safeJson(response.text));
    if (!parsed.success) {
      throw new KubeSphereError('KS_BAD_RESPONSE', 'the token endpoint answered 200 without a usable access_token', {
        method: 'POST',
        path: '/oauth/token',
        status: 200,
      });
    }
    return toSession(parsed.data, startedAt);
  }
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
