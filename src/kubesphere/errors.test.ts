import { describe, expect, it } from 'vitest';
import { KubeSphereError, errorFromResponse, isKubeSphereError, scrubSecrets } from './errors.js';

const ctx = { method: 'POST', path: '/x' };
const TEXT = 'text/plain; charset=utf-8';

describe('errorFromResponse', () => {
  it.each([
    [409, 'users.iam.kubesphere.io "alice" already exists\n', TEXT, 'KS_ALREADY_EXISTS'],
    [400, 'workspacetemplates.tenant.kubesphere.io "ws1" already exists\n', TEXT, 'KS_ALREADY_EXISTS'],
    [400, 'namespaces "p1" already exists\n', TEXT, 'KS_ALREADY_EXISTS'],
    [
      400,
      'Namespace "P1" is invalid: metadata.name: Invalid value: "P1": a lowercase RFC 1123 label …\n',
      TEXT,
      'KS_INVALID',
    ],
    [422, 'User.iam.kubesphere.io "Wqwe" is invalid: metadata.name: Invalid value\n', TEXT, 'KS_INVALID'],
    [404, 'User.iam.kubesphere.io "bob" not found\n', TEXT, 'KS_NOT_FOUND'],
    [
      403,
      'admission webhook "users.iam.kubesphere.io" denied the request: user email: a@b.c already exists\n',
      TEXT,
      'KS_EMAIL_REJECTED',
    ],
    [
      403,
      'admission webhook "validating-user.kubesphere.io" denied the request: invalid email address:bad@\n',
      TEXT,
      'KS_EMAIL_REJECTED',
    ],
    [
      403,
      'user.iam.kubesphere.io "alice" is forbidden: update global role binding is not allowed\n',
      TEXT,
      'KS_FORBIDDEN',
    ],
    [
      409,
      'Operation cannot be fulfilled on users.iam.kubesphere.io "alice": the object has been modified; please apply your changes to the latest version and try again\n',
      TEXT,
      'KS_STALE',
    ],
    [500, 'Internal error occurred\n', TEXT, 'KS_UNAVAILABLE'],
    [
      403,
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"users.iam.kubesphere.io is forbidden: User \\"system:anonymous\\" cannot list resource","reason":"Forbidden","code":403}',
      'application/json',
      'KS_FORBIDDEN',
    ],
    [
      401,
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"token not found in cache","reason":"Unauthorized","code":401}',
      'application/json',
      'KS_UNAUTHORIZED',
    ],
    [
      400,
      '{"ErrStatus":{"metadata":{},"status":"Failure","message":"cluster foo not exists","reason":"BadRequest","code":400}}',
      'application/json',
      'KS_CLUSTER_UNKNOWN',
    ],
    [
      503,
      '{"ErrStatus":{"metadata":{},"status":"Failure","message":"cluster foo is not ready","reason":"ServiceUnavailable","code":503}}',
      'application/json',
      'KS_UNAVAILABLE',
    ],
    [
      400,
      '{"error":"invalid_grant","error_description":"Invalid username or password."}',
      'application/json',
      'KS_LOGIN_FAILED',
    ],
    [429, '{"error":"invalid_grant","error_description":"Rate limit exceeded."}', 'application/json', 'KS_LOCKED_OUT'],
    [
      401,
      '{"error":"unauthorized_client","error_description":"Invalid client credential."}',
      'application/json',
      'KS_LOGIN_FAILED',
    ],
  ])('HTTP %i %s → code', (status, body, contentType, code) => {
    const error = errorFromResponse(status, body, contentType, ctx);
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.message).not.toContain('\n');
  });

  it('keeps the server message and adds the request, without a trailing newline', () => {
    const error = errorFromResponse(404, 'User.iam.kubesphere.io "bob" not found\n', TEXT, {
      method: 'GET',
      path: '/u/bob',
    });
    expect(error.serverMessage).toBe('User.iam.kubesphere.io "bob" not found');
    expect(error.message).toBe('User.iam.kubesphere.io "bob" not found (GET /u/bob → 404)');
  });

  it('reads the reason of a Status body and of an OAuth body', () => {
    const status = errorFromResponse(
      403,
      '{"kind":"Status","status":"Failure","message":"m","reason":"Forbidden","code":403}',
      'application/json',
      ctx,
    );
    expect(status.reason).toBe('Forbidden');
    const oauth = errorFromResponse(
      400,
      '{"error":"invalid_grant","error_description":"Account suspended."}',
      'application/json',
      ctx,
    );
    expect(oauth.reason).toBe('invalid_grant');
    expect(oauth.serverMessage).toBe('invalid_grant: Account suspended.');
  });

  it('undoes the HTML escaping of Go http.Error', () => {
    const error = errorFromResponse(400, 'a &lt;b&gt; &amp; c\n', TEXT, ctx);
    expect(error.serverMessage).toBe('a <b> & c');
  });

  it('removes secrets from server messages, raw and quoted', () => {
    const pw = 'se"cr\\et1A';
    const body = `User.iam.kubesphere.io "bob" is invalid: spec.password: Invalid value: ${JSON.stringify(pw)}: too short\n`;
    const error = errorFromResponse(422, body, TEXT, { ...ctx, secrets: [pw] });
    expect(error.message).toContain('[REDACTED]');
    expect(error.message).not.toContain('cr\\\\et');
    expect(error.message).not.toContain(pw);
  });
});

describe('scrubSecrets', () => {
  it('ignores empty secrets and replaces every occurrence', () => {
    expect(scrubSecrets('a token b token', ['', 'token'])).toBe('a [REDACTED] b [REDACTED]');
  });
});

describe('KubeSphereError', () => {
  it('is recognised by brand, not by class identity', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('ks-onboard.KubeSphereError')]: true });
    expect(foreign instanceof KubeSphereError).toBe(true);
    expect(isKubeSphereError(new KubeSphereError('KS_NOT_FOUND', 'm'), 'KS_NOT_FOUND')).toBe(true);
    expect(isKubeSphereError(new Error('plain'))).toBe(false);
  });
});
