import { describe, expect, it } from 'vitest';
import { usernameFor } from './username.js';

describe('usernameFor', () => {
  it("takes the event's username as given", () => {
    expect(usernameFor({ username: 'a.okafor', email: 'amara.okafor@example.com' })).toEqual({
      ok: true,
      username: 'a.okafor',
    });
  });

  it("refuses a given username that breaks KubeSphere's rules, without lower-casing it", () => {
    expect(usernameFor({ username: 'Amara', email: 'amara@example.com' })).toEqual({
      ok: false,
      problem: { field: 'username', message: expect.stringContaining('"Amara" must be lower-case') },
    });
  });

  it.each([
    ['amara.okafor@example.com', 'amara.okafor'],
    ['Amara.Okafor@Example.com', 'amara.okafor'],
    ['ben-tanaka2@corp.example.com', 'ben-tanaka2'],
    [`${'a'.repeat(32)}@example.com`, 'a'.repeat(32)],
  ])('derives %s → %s', (email, username) => {
    expect(usernameFor({ email })).toEqual({ ok: true, username });
  });

  it.each([
    ["o'brien@example.com", `contains "'"`],
    ['first_last@example.com', 'contains "_"'],
    ['amara+k8s@example.com', 'contains "+"'],
    ['józef@example.com', 'contains "ó"'],
    ['o_b+x@example.com', 'contains "_", "+"'],
    // The Kelvin sign lower-cases to an ASCII "k" with toLowerCase(): it must not become one.
    ['\u212Aim@example.com', 'contains "\u212A"'],
    [`${'a'.repeat(33)}@example.com`, 'is 33 characters long (at most 32)'],
    ['.amara@example.com', 'must start and end with a letter or digit'],
    ['amara-@example.com', 'must start and end with a letter or digit'],
    ['amara..okafor@example.com', 'has a part between dots'],
    ['amara.-okafor@example.com', 'has a part between dots'],
  ])('refuses %s rather than rewriting it: %s', (email, reason) => {
    const result = usernameFor({ email });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problem.field).toBe('email');
    expect(result.problem.message).toContain(`the work email ${JSON.stringify(email)}`);
    expect(result.problem.message).toContain(reason);
    expect(result.problem.message).toContain('not rewritten');
  });

  it('gives every reason at once', () => {
    const result = usernameFor({ email: `${'a_'.repeat(20)}@example.com` });
    expect(result.ok ? '' : result.problem.message).toMatch(/is 40 characters long .* and contains "_"/);
  });

  it.each(['no-at-sign', '@example.com'])('refuses %s: no local part', (email) => {
    expect(usernameFor({ email })).toEqual({
      ok: false,
      problem: { field: 'email', message: `${JSON.stringify(email)} has no local part to derive a username from` },
    });
  });
});
