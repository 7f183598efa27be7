import { describe, expect, it } from 'vitest';
import { checkEmail, checkPassword, checkUsername, escapeControl, formatProblems, quote } from './names.js';
import { changeDirection, planOnboarding, planRoleChange, type OnboardRequest } from './plan.js';
import { DEFAULT_ELEVATED_ROLES, isElevated } from './worker-policy.js';

const base: OnboardRequest = { username: 'alice', email: 'alice@example.com' };
const fields = (input: OnboardRequest) => {
  const result = planOnboarding(input);
  return result.ok ? [] : result.problems.map((p) => p.field);
};

describe('planOnboarding', () => {
  it('defaults to least privilege: platform-regular, <ws>-regular, project viewer, each grant named', () => {
    const result = planOnboarding({ ...base, workspace: 'team-a', project: 'team-a-dev' });
    expect(result).toEqual({
      ok: true,
      plan: {
        username: 'alice',
        email: 'alice@example.com',
        globalRole: 'platform-regular',
        workspaces: [{ name: 'team-a', role: 'team-a-regular', suffix: 'regular', create: true }],
        projects: [{ name: 'team-a-dev', cluster: undefined, role: 'viewer', create: true, workspace: 'team-a' }],
        grants: [
          { scope: 'platform', role: 'platform-regular', target: 'platform' },
          { scope: 'workspace', role: 'regular', target: 'team-a', workspace: 'team-a' },
          { scope: 'project', role: 'viewer', target: 'host/team-a-dev', workspace: 'team-a' },
        ],
      },
    });
  });

  it('takes several placements: each workspace and project once, one grant each', () => {
    const result = planOnboarding({
      ...base,
      placements: [
        { workspace: 'team-a', project: 'api' },
        { workspace: 'team-a', project: 'web', projectRole: 'operator' },
        { workspace: 'team-b', workspaceRole: 'viewer', line: 9 },
      ],
    });
    expect(result.ok && result.plan.workspaces.map((w) => w.role)).toEqual(['team-a-regular', 'team-b-viewer']);
    expect(result.ok && result.plan.projects.map((p) => `${p.workspace}/${p.name}:${p.role}`)).toEqual([
      'team-a/api:viewer',
      'team-a/web:operator',
    ]);
    expect(result.ok && result.plan.grants.map((g) => `${g.scope}:${g.role}@${g.target}`)).toEqual([
      'platform:platform-regular@platform',
      'workspace:regular@team-a',
      'workspace:viewer@team-b',
      'project:viewer@host/api',
      'project:operator@host/web',
    ]);
  });

  it('refuses placements that disagree, naming the placement', () => {
    const result = planOnboarding({
      ...base,
      placements: [
        { workspace: 'team-a', project: 'api' },
        { workspace: 'team-a', workspaceRole: 'admin' },
        { workspace: 'team-b', project: 'api' },
        { workspace: 'team-a', project: 'api', projectRole: 'admin' },
      ],
    });
    expect(result.ok ? [] : result.problems.map((p) => p.field)).toEqual([
      'placements.1.workspaceRole',
      'placements.2.project',
      'placements.3.projectRole',
    ]);
    const both = planOnboarding({ ...base, workspace: 'x', placements: [{ workspace: 'y' }] });
    expect(both.ok ? [] : both.problems.map((p) => p.field)).toEqual(['placements']);
  });

  it('accepts workspace roles as suffix or full name', () => {
    for (const role of ['viewer', 'team-a-viewer']) {
      const result = planOnboarding({ ...base, workspace: 'team-a', workspaceRole: role });
      expect(result.ok && result.plan.workspaces[0]?.role).toBe('team-a-viewer');
    }
  });

  it.each([
    ['platform-admin', 'globalRole', { globalRole: 'platform-admin' }],
    ['platform-self-provisioner', 'globalRole', { globalRole: 'platform-self-provisioner' }],
    ['workspace admin', 'workspaceRole', { workspace: 'ws', workspaceRole: 'admin' }],
    ['workspace self-provisioner', 'workspaceRole', { workspace: 'ws', workspaceRole: 'ws-self-provisioner' }],
    ['project admin', 'projectRole', { workspace: 'ws', project: 'p', projectRole: 'admin' }],
    ['project operator', 'projectRole', { workspace: 'ws', project: 'p', projectRole: 'operator' }],
  ])('the default worker policy marks %s as elevated', (_label, _field, extra) => {
    const result = planOnboarding({ ...base, ...extra });
    const policy = { elevatedRoles: [...DEFAULT_ELEVATED_ROLES] };
    expect(result.ok && result.plan.grants.filter((g) => isElevated(policy, g.scope, g.role)).length).toBe(1);
  });

  it.each([
    ['custom global role', { globalRole: 'cluster-admin' }, 'globalRole', /not a built-in platform role/],
    [
      'custom workspace role',
      { workspace: 'ws', workspaceRole: 'ws-superuser' },
      'workspaceRole',
      /not a built-in role of workspace ws/,
    ],
    [
      "another workspace's role",
      { workspace: 'ws', workspaceRole: 'other-admin' },
      'workspaceRole',
      /not a built-in role/,
    ],
    [
      'custom project role',
      { workspace: 'ws', project: 'p', projectRole: 'deployer' },
      'projectRole',
      /not a built-in project role/,
    ],
    ['upper-case username', { username: 'Alice' }, 'username', /lower-case/],
    ['long username', { username: 'a'.repeat(33) }, 'username', /at most 32/],
    ['email', { email: 'alice@' }, 'email', /not a valid email/],
    ['missing email', { email: '' }, 'email', /is required/],
    ['long workspace', { workspace: 'w'.repeat(47) }, 'workspace', /at most 46 .* role names fit/],
    [
      'project starting with a digit',
      { workspace: 'ws', project: '1p' },
      'project',
      /must start with a lower-case letter/,
    ],
    ['project without workspace', { project: 'p' }, 'project', /needs a workspace/],
    ['role without project', { projectRole: 'viewer' }, 'projectRole', /needs a project/],
    ['bad cluster', { cluster: 'Host_1' }, 'cluster', /not a valid cluster name/],
    ['white space', { username: ' alice' }, 'username', /white space/],
    ['wrong type', { username: 7 as unknown as string }, 'username', /must be text/],
  ])('refuses %s, naming the field and why', (_label, extra, field, message) => {
    const result = planOnboarding({ ...base, ...(extra as Partial<OnboardRequest>) });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const problem = result.problems.find((p) => p.field === field);
    expect(problem?.message).toMatch(message);
  });

  it('reports every problem at once', () => {
    expect(
      fields({ username: 'A', email: 'x', globalRole: 'god', workspace: 'ws', workspaceRole: 'owner' }).sort(),
    ).toEqual(['email', 'globalRole', 'username', 'workspaceRole']);
  });
});

describe('checkPassword', () => {
  it('follows the server rule and never echoes the value', () => {
    expect(checkPassword('Passw0rd')).toEqual([]);
    const problems = checkPassword('secretpw');
    expect(formatProblems(problems)).toBe('password: must contain an upper-case letter, a digit');
    expect(formatProblems(checkPassword('S1s'))).toBe('password: must be 8 to 64 characters long (got 3)');
    expect(formatProblems(checkPassword('x'.repeat(65)))).not.toContain('xxx');
  });
});

describe('quote', () => {
  it('shows control characters, separators and bidi overrides escaped, never raw', () => {
    expect(quote('al\x1bice')).toBe('"al\\x1bice"');
    expect(quote('a\nb\tc\rd')).toBe('"a\\nb\\tc\\rd"');
    expect(quote('\x00\x7f\x9b\u2028\u202e')).toBe('"\\x00\\x7f\\x9b\\u2028\\u202e"');
    expect(quote('say "hi" \\o/')).toBe('"say \\"hi\\" \\\\o/"');
    expect(quote('plain-ñame')).toBe('"plain-ñame"');
    expect(escapeControl('C:\\dir\x1b[31m')).toBe('C:\\dir\\x1b[31m');
  });

  it('is what rejected names are quoted with', () => {
    const message = formatProblems([
      ...checkUsername('al\x1b[2Jice'),
      ...checkEmail('a\nb@c.d'),
      ...checkUsername('Bob'),
    ]);
    expect(message).toBe(
      'username: "al\\x1b[2Jice" must be lower-case letters, digits, "-" or ".", starting and ending with a letter or digit; ' +
        'email: "a\\nb@c.d" is not a valid email address; ' +
        'username: "Bob" must be lower-case letters, digits, "-" or ".", starting and ending with a letter or digit',
    );
    // eslint-disable-next-line no-control-regex
    expect(message).not.toMatch(/[\x00-\x1f\x7f]/);
    const planned = planOnboarding({ ...base, workspace: 'team\x1ba', project: 'p\rq' });
    expect(!planned.ok && formatProblems(planned.problems)).toContain('workspace: "team\\x1ba" must be');
    expect(!planned.ok && formatProblems(planned.problems)).toContain('project: "p\\rq" must start');
  });
});

describe('planRoleChange', () => {
  it('names the full workspace role and the grant, with the workspace whose admin may make it', () => {
    const result = planRoleChange({ username: 'bob', scope: 'workspace', workspace: 'ws', role: 'admin' });
    expect(result.ok && result.plan).toMatchObject({
      role: 'ws-admin',
      roleKey: 'admin',
      grant: { scope: 'workspace', role: 'admin', target: 'ws', workspace: 'ws' },
    });
  });

  it("a project role change names the project's workspace", () => {
    const result = planRoleChange({ username: 'bob', scope: 'project', project: 'p', role: 'viewer' });
    expect(!result.ok && result.problems.map((p) => p.field)).toEqual(['workspace']);
  });

  it('refuses custom roles and missing scopes', () => {
    const custom = planRoleChange({ username: 'bob', scope: 'project', project: 'p', role: 'deployer' });
    expect(custom.ok).toBe(false);
    const noWs = planRoleChange({ username: 'bob', scope: 'workspace', role: 'viewer' });
    expect(!noWs.ok && noWs.problems[0]).toEqual({ field: 'workspace', message: 'is required for a workspace role' });
  });

  it('calls changes by their direction', () => {
    expect(changeDirection('project', 'viewer', 'admin')).toBe('upgrade');
    expect(changeDirection('workspace', 'admin', 'viewer')).toBe('downgrade');
    expect(changeDirection('platform', 'platform-regular', 'platform-regular')).toBe('unchanged');
    expect(changeDirection('platform', undefined, 'platform-regular')).toBe('grant');
  });
});
