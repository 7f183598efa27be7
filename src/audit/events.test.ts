import { describe, expect, it } from 'vitest';
import { AUDIT_SCHEMA, auditEventOf, auditInputSchema, type AuditInput } from './events.js';

const context = {
  workflowId: 'onboard-alice',
  runId: 'run-1',
  workflowType: 'onboardUser',
  namespace: 'default',
  taskQueue: 'ks-onboard',
};
const at = new Date('2026-01-02T03:04:05.000Z');
const eventOf = (input: AuditInput, ctx = context) => auditEventOf(auditInputSchema.parse(input), ctx, at);

const grants = [
  { scope: 'platform', role: 'platform-regular', target: 'platform' },
  { scope: 'workspace', role: 'admin', target: 'team-a', why: 'elevated role' },
];

describe('audit events (ks-onboard.audit/v1)', () => {
  it('an accepted request: who asked, from where, what, and what waits for an approval', () => {
    const event = eventOf({
      seq: 1,
      time: '2026-01-02T03:04:00.000Z',
      type: 'request.accepted',
      subject: 'alice',
      requestedBy: 'ops-admin',
      source: { kind: 'requester' },
      grants,
      approval: {
        grants: [grants[1]!],
        deadline: '2026-01-05T03:04:00.000Z',
        requestedAt: '2026-01-02T03:04:00.000Z',
      },
    });
    expect(event).toEqual({
      schema: AUDIT_SCHEMA,
      id: 'onboard-alice/run-1/1',
      type: 'request.accepted',
      decision: 'accepted',
      time: '2026-01-02T03:04:00.000Z',
      recordedAt: '2026-01-02T03:04:05.000Z',
      workflow: {
        id: 'onboard-alice',
        runId: 'run-1',
        type: 'onboardUser',
        namespace: 'default',
        taskQueue: 'ks-onboard',
      },
      request: 'onboarding',
      subject: 'alice',
      who: 'ops-admin',
      requestedBy: 'ops-admin',
      source: 'cli',
      grants: [
        { scope: 'platform', target: 'platform', role: 'platform-regular' },
        { scope: 'workspace', target: 'team-a', role: 'admin', approval: 'elevated role' },
      ],
      approval: {
        grants: [{ scope: 'workspace', target: 'team-a', role: 'admin', approval: 'elevated role' }],
        requestedAt: '2026-01-02T03:04:00.000Z',
        deadline: '2026-01-05T03:04:00.000Z',
      },
    });
  });

  it('an approval: the approver is who, with the reason and the time waited', () => {
    const event = eventOf({
      seq: 2,
      time: '2026-01-02T05:04:00.000Z',
      type: 'approval.approved',
      subject: 'alice',
      requestedBy: 'ops-admin',
      source: { kind: 'hr', vendor: 'bamboohr', eventId: 'bamboohr:42' },
      approval: {
        grants: [grants[1]!],
        deadline: '2026-01-05T03:04:00.000Z',
        requestedAt: '2026-01-02T03:04:00.000Z',
        decision: { approve: true, by: 'carol', reason: 'team lead', at: '2026-01-02T05:04:00.000Z' },
      },
    });
    expect(event).toMatchObject({
      type: 'approval.approved',
      decision: 'approved',
      who: 'carol',
      requestedBy: 'ops-admin',
      source: 'hr:bamboohr',
      hrEvent: 'bamboohr:42',
      approval: { decidedBy: 'carol', decidedAt: '2026-01-02T05:04:00.000Z', reason: 'team lead', waitedSeconds: 7200 },
    });
  });

  it('an expired approval waited until its deadline; nobody decided', () => {
    const event = eventOf({
      seq: 2,
      time: '2026-01-05T03:04:00.000Z',
      type: 'approval.expired',
      subject: 'alice',
      approval: {
        grants: [grants[1]!],
        deadline: '2026-01-05T03:04:00.000Z',
        requestedAt: '2026-01-02T03:04:00.000Z',
        expired: true,
      },
    });
    expect(event.who).toBeNull();
    expect(event.approval?.waitedSeconds).toBe(72 * 3600);
  });

  it('a completed request: each grant with what its step did, each resource created or found', () => {
    const event = eventOf({
      seq: 3,
      time: '2026-01-02T05:05:00.000Z',
      type: 'request.completed',
      subject: 'alice',
      requestedBy: 'ops-admin',
      source: { kind: 'batch' },
      batchId: 'b-1',
      grants: [...grants, { scope: 'project', role: 'viewer', target: 'host/team-a-dev' }],
      steps: [
        { step: 'user', target: 'alice', outcome: 'created', requestedRole: 'platform-regular' },
        { step: 'workspace', target: 'team-a', outcome: 'existed' },
        { step: 'project', target: 'host/team-a-dev', outcome: 'created' },
        {
          step: 'workspace-member',
          target: 'team-a',
          outcome: 'kept-existing-role',
          requestedRole: 'team-a-admin',
          existingRole: 'team-a-viewer',
        },
        { step: 'project-member', target: 'host/team-a-dev', outcome: 'pending', requestedRole: 'viewer' },
      ],
    });
    expect(event).toMatchObject({ source: 'batch', batchId: 'b-1', decision: 'completed' });
    expect(event.grants).toEqual([
      {
        scope: 'platform',
        target: 'platform',
        role: 'platform-regular',
        outcome: 'created',
        kubesphereRole: 'platform-regular',
      },
      {
        scope: 'workspace',
        target: 'team-a',
        role: 'admin',
        outcome: 'kept-existing-role',
        kubesphereRole: 'team-a-admin',
        previousRole: 'team-a-viewer',
      },
      { scope: 'project', target: 'host/team-a-dev', role: 'viewer', outcome: 'skipped', kubesphereRole: 'viewer' },
    ]);
    expect(event.resources).toEqual([
      { kind: 'user', name: 'alice', outcome: 'created' },
      { kind: 'workspace', name: 'team-a', outcome: 'existed' },
      { kind: 'project', name: 'host/team-a-dev', outcome: 'created' },
    ]);
  });

  it('a role change: its one grant is its role step', () => {
    const event = eventOf(
      {
        seq: 2,
        time: '2026-01-02T05:05:00.000Z',
        type: 'request.completed',
        subject: 'bob',
        requestedBy: 'ops-admin',
        grants: [{ scope: 'workspace', role: 'viewer', target: 'team-a' }],
        steps: [
          {
            step: 'role',
            target: 'team-a',
            outcome: 'updated',
            requestedRole: 'team-a-viewer',
            existingRole: 'team-a-admin',
          },
        ],
      },
      { ...context, workflowId: 'change-role-bob-workspace-team-a', workflowType: 'changeRole' },
    );
    expect(event.request).toBe('role-change');
    expect(event.grants).toEqual([
      {
        scope: 'workspace',
        target: 'team-a',
        role: 'viewer',
        outcome: 'updated',
        kubesphereRole: 'team-a-viewer',
        previousRole: 'team-a-admin',
      },
    ]);
  });

  it('keeps only the named fields, and no email or sealed value in free text', () => {
    const input = {
      seq: 1,
      time: '2026-01-02T03:04:00.000Z',
      type: 'request.refused',
      subject: 'alice',
      // what a workflow holds and must never reach the trail
      email: 'alice@example.com',
      sealedPassword: 'ks-sealed:v1:AAAA',
      source: { kind: 'requester', proof: 'ks-sealed:v2:BBBB' },
      error: {
        type: 'ResourceMismatch',
        message:
          'user alice already exists but differs: email is "a@x.io", requested "alice@example.com"; ks-sealed:v1:CCCC',
      },
    } as unknown as AuditInput;
    const line = JSON.stringify(eventOf(input));
    expect(line).not.toMatch(/@|ks-sealed|AAAA|BBBB|CCCC/);
    expect(JSON.parse(line)).toMatchObject({
      type: 'request.refused',
      who: null,
      source: 'cli',
      error: { type: 'ResourceMismatch', message: expect.stringContaining('<email>') },
    });
  });

  it('refuses what is not an event', () => {
    expect(auditInputSchema.safeParse({ seq: 0, time: 'x', type: 'request.accepted', subject: 'a' }).success).toBe(
      false,
    );
    expect(auditInputSchema.safeParse({ seq: 1, time: 'x', type: 'user.deleted', subject: 'a' }).success).toBe(false);
  });
});
