import { describe, expect, it } from 'vitest';
import { covers, grantsNeedingApproval, type Authority } from './authority.js';
import { APPROVAL_TIMEOUT_BOUNDS, parseDuration } from './duration.js';
import { onboardingFields, planOnboarding, requestDifferences } from './plan.js';
import { onboardUserInputSchema, parseInput } from './requests.js';
import { elevatedRolesFrom, isProtectedWorkspace, type WorkerPolicy } from './worker-policy.js';

const policy: WorkerPolicy = {
  elevatedRoles: ['platform:platform-admin', 'workspace:admin'],
  approvalTimeoutMs: 3_600_000,
  protectedWorkspaces: ['finance'],
};
const grants = (() => {
  const planned = planOnboarding({
    username: 'ann',
    email: 'ann@example.com',
    workspace: 'team-a',
    project: 'team-a-dev',
  });
  if (!planned.ok) throw new Error('bad fixture');
  return planned.plan.grants;
})();
const person = (over: Partial<Authority>): Authority => ({
  username: 'x',
  platformAdmin: false,
  workspaceAdminOf: [],
  ...over,
});

describe('who may grant what', () => {
  it('a platform-admin covers every grant; a workspace admin that workspace and its projects; others nothing', () => {
    expect(grants.map((g) => covers(person({ platformAdmin: true }), g))).toEqual([true, true, true]);
    expect(grants.map((g) => covers(person({ workspaceAdminOf: ['team-a'] }), g))).toEqual([false, true, true]);
    expect(grants.map((g) => covers(person({ workspaceAdminOf: ['team-b'] }), g))).toEqual([false, false, false]);
  });

  it('waits for elevated grants even from a platform-admin, and for anything the requester could not do', () => {
    expect(grantsNeedingApproval(grants, policy, person({ platformAdmin: true }))).toEqual([]);
    const elevated = planOnboarding({ username: 'ann', email: 'a@b.co', globalRole: 'platform-admin' });
    expect(elevated.ok && grantsNeedingApproval(elevated.plan.grants, policy, person({ platformAdmin: true }))).toEqual(
      [{ scope: 'platform', role: 'platform-admin', target: 'platform', why: 'elevated role' }],
    );
    expect(grantsNeedingApproval(grants, policy, person({ workspaceAdminOf: ['team-a'] })).map((g) => g.why)).toEqual([
      'beyond the requester',
    ]);
  });
});

describe("the worker's policy", () => {
  it('always keeps platform-admin elevated, and refuses an empty or malformed list', () => {
    expect(elevatedRolesFrom(['project:operator'])).toEqual({
      ok: true,
      roles: ['platform:platform-admin', 'project:operator'],
    });
    expect(elevatedRolesFrom([])).toMatchObject({ ok: false, reason: expect.stringMatching(/at least one/) });
    expect(elevatedRolesFrom(['admin'])).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/"admin" must look like/),
    });
  });

  it('protects system-workspace whatever the configuration says', () => {
    expect(isProtectedWorkspace({ protectedWorkspaces: [] }, 'system-workspace')).toBe(true);
    expect(isProtectedWorkspace(policy, 'finance')).toBe(true);
    expect(isProtectedWorkspace(policy, 'team-a')).toBe(false);
  });
});

describe('durations', () => {
  it('one syntax, bounded', () => {
    expect(parseDuration('72h', APPROVAL_TIMEOUT_BOUNDS)).toEqual({ ok: true, ms: 72 * 3_600_000 });
    expect(parseDuration('99999999999d', APPROVAL_TIMEOUT_BOUNDS).ok).toBe(false);
    expect(parseDuration('40d', APPROVAL_TIMEOUT_BOUNDS)).toEqual({ ok: false, reason: 'must be between 1m and 30d' });
    expect(parseDuration('soon', APPROVAL_TIMEOUT_BOUNDS).ok).toBe(false);
  });
});

describe('workflow inputs', () => {
  const source = { kind: 'requester', proof: 'ks-sealed:v2:x' };
  it('refuse unknown fields, wrong types and unsealed secrets, naming each field', () => {
    const parsed = parseInput(onboardUserInputSchema, {
      username: 7,
      email: 'a@b.co',
      sealedPassword: 'plaintext',
      policy: {},
      source,
    });
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.problems.map((p) => p.field).sort()).toEqual(['input', 'sealedPassword', 'username']);
  });

  it('a request without a source is refused', () => {
    const parsed = parseInput(onboardUserInputSchema, { username: 'a', email: 'a@b.co' });
    expect(!parsed.ok && parsed.problems).toEqual([{ field: 'source', message: expect.any(String) }]);
  });
});

describe('comparing requests', () => {
  it('names each field that differs; sealed values and letter case of the email do not count', () => {
    const fields = (over: object) => {
      const planned = planOnboarding({ username: 'ann', email: 'ann@example.com', workspace: 'a', ...over });
      if (!planned.ok) throw new Error('bad fixture');
      return onboardingFields(planned.plan);
    };
    expect(
      requestDifferences(fields({ sealedPassword: 'ks-sealed:v1:1' }), fields({ sealedPassword: 'ks-sealed:v1:2' })),
    ).toEqual([]);
    expect(requestDifferences(fields({}), fields({ email: 'Ann@Example.com' }))).toEqual([]);
    expect(requestDifferences(fields({}), fields({ workspace: 'b' }))).toEqual([
      { field: 'workspace', running: 'a', asked: 'b' },
      { field: 'workspaceRole', running: 'a-regular', asked: 'b-regular' },
    ]);
  });
});
