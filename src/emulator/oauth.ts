import { createHmac, randomBytes } from 'node:crypto';
import { oauthError, json, type Reply } from './reply.js';
import { verifyPassword, type State, type UserObject } from './state.js';
import { parseEmailAddress } from './validation.js';

export interface OAuthOptions {
  clientId: string;
  clientSecret: string;
  accessTokenMaxAgeSec: number;
  refreshTokenMaxAgeSec: number;
  lockoutMaxTries: number;
  lockoutWindowMs: number;
}

interface IssuedToken {
  username: string;
  type: 'access_token' | 'refresh_token';
  expiresAt: number;
}

export type Authentication = { user: string } | { anonymous: true } | { error: string };

/** The OAuth server and token cache of ks-apiserver (§2, §1.3). */
export class OAuth {
  private readonly key = randomBytes(32);
  private readonly tokens = new Map<string, IssuedToken>();

  constructor(
    private readonly state: State,
    private readonly options: OAuthOptions,
    private readonly now: () => number,
  ) {}

  token(form: URLSearchParams): Reply {
    if (form.get('client_id') !== this.options.clientId) {
      return oauthError(400, 'invalid_client', 'The provided client_id is invalid or does not exist.');
    }
    if (form.get('client_secret') !== this.options.clientSecret) {
      return oauthError(401, 'unauthorized_client', 'Invalid client credential.');
    }
    switch (form.get('grant_type')) {
      case 'password':
        return this.passwordGrant(form.get('username') ?? '', form.get('password') ?? '');
      case 'refresh_token':
        return this.refreshGrant(form.get('refresh_token') ?? '');
      default:
        return oauthError(400, 'unsupported_grant_type', 'The provided grant_type is not supported.');
    }
  }

  private passwordGrant(login: string, password: string): Reply {
    const invalid = () => oauthError(400, 'invalid_grant', 'Invalid username or password.');
    if (!login || !password) return invalid();
    const user = this.findUser(login);
    if (!user) return invalid(); // unknown users are not counted towards a lockout
    this.unlockIfDue(user);
    if (user.status.state === 'AuthLimitExceeded') return oauthError(429, 'invalid_grant', 'Rate limit exceeded.');
    if (!verifyPassword(user.spec.password, password)) {
      this.recordFailure(user);
      return invalid();
    }
    if (user.status.state !== 'Active') return oauthError(400, 'invalid_grant', 'Account suspended.');
    user.status.lastLoginTime = this.state.timestamp();
    this.state.changed();
    return this.issue(user.metadata.name);
  }

  private refreshGrant(refreshToken: string): Reply {
    const issued = this.tokens.get(refreshToken);
    if (!issued || issued.type !== 'refresh_token' || issued.expiresAt <= this.now()) {
      return oauthError(400, 'invalid_grant', 'The refresh token is invalid or expired.');
    }
    return this.issue(issued.username);
  }

  private issue(username: string): Reply {
    const now = this.now();
    const maxAge = this.options.accessTokenMaxAgeSec;
    const access = this.sign(username, 'access_token', now, maxAge);
    const refresh = this.sign(username, 'refresh_token', now, this.options.refreshTokenMaxAgeSec);
    return json(
      200,
      {
        access_token: access,
        token_type: 'Bearer',
        refresh_token: refresh,
        ...(maxAge > 0 ? { expires_in: maxAge } : {}),
      },
      { 'cache-control': 'no-store', pragma: 'no-cache' },
    );
  }

  /** HS256 JWT with KubeSphere's claims; also kept in the token cache, which is what is checked. */
  private sign(username: string, type: IssuedToken['type'], now: number, maxAgeSec: number): string {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const iat = Math.floor(now / 1000);
    const claims = {
      iss: 'kubesphere',
      sub: username,
      iat,
      ...(maxAgeSec > 0 ? { exp: iat + maxAgeSec } : {}),
      username,
      token_type: type,
      jti: randomBytes(8).toString('hex'),
    };
    const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
    const token = `${unsigned}.${createHmac('sha256', this.key).update(unsigned).digest('base64url')}`;
    this.tokens.set(token, {
      username,
      type,
      expiresAt: maxAgeSec > 0 ? now + maxAgeSec * 1000 : Number.POSITIVE_INFINITY,
    });
    return token;
  }

  authenticate(authorization: string | undefined): Authentication {
    if (!authorization) return { anonymous: true };
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match) return { error: 'invalid authorization header' };
    const issued = this.tokens.get(match[1]!);
    if (!issued || issued.type !== 'access_token') return { error: 'token not found in cache' };
    if (issued.expiresAt <= this.now()) return { error: 'token is expired' };
    const user = this.state.data.users[issued.username];
    if (!user) return { error: 'token not found in cache' };
    if (user.status.state === 'Disabled') return { error: 'account is not active' };
    return { user: issued.username };
  }

  /**
   * GET /oauth/userinfo (§12a), after the authentication filter: the holder's claims from their User
   * object, in the JSON order of KubeSphere's token.Claims; empty claims are left out (`omitempty`).
   */
  userinfo(auth: { user: string } | { anonymous: true }): Reply {
    if (!('user' in auth)) {
      // The description is RFC-style wording: the contract fixes only `error`.
      return json(401, {
        error: 'login_required',
        error_description: 'The Authorization Server requires End-User authentication.',
      });
    }
    const user = this.state.data.users[auth.user]!;
    const name = user.metadata.name;
    return json(200, {
      sub: name,
      name,
      ...(user.spec.email ? { email: user.spec.email } : {}),
      ...(user.spec.lang ? { locale: user.spec.lang } : {}),
      preferred_username: name,
    });
  }

  private findUser(login: string): UserObject | undefined {
    const users = this.state.data.users;
    if (users[login]) return users[login];
    const email = parseEmailAddress(login);
    return email ? Object.values(users).find((u) => u.spec.email === email) : undefined;
  }

  private recordFailure(user: UserObject): void {
    const name = user.metadata.name;
    const now = this.now();
    const since = Math.max(now - this.options.lockoutWindowMs, Date.parse(user.status.lastTransitionTime ?? '') || 0);
    const failures = [...(this.state.data.loginFailures[name] ?? []), now].filter((at) => at >= since);
    this.state.data.loginFailures[name] = failures;
    if (failures.length >= this.options.lockoutMaxTries && user.status.state === 'Active') {
      user.status = {
        ...user.status,
        state: 'AuthLimitExceeded',
        reason: `Failed login attempts exceed ${this.options.lockoutMaxTries} in last ${this.options.lockoutWindowMs / 60_000}m`,
        lastTransitionTime: new Date(now).toISOString(),
      };
    }
    this.state.changed();
  }

  private unlockIfDue(user: UserObject): void {
    if (user.status.state !== 'AuthLimitExceeded') return;
    const lockedAt = Date.parse(user.status.lastTransitionTime ?? '') || 0;
    if (this.now() - lockedAt >= this.options.lockoutWindowMs) {
      user.status = {
        ...user.status,
        state: 'Active',
        reason: undefined,
        lastTransitionTime: new Date(this.now()).toISOString(),
      };
      this.state.data.loginFailures[user.metadata.name] = [];
    }
  }
}
