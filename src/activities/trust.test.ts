import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { quietLogger } from '../../test/helpers/quiet-logger.js';
import { grantsDigest, requestDigest, sealProof, type UnsealedProof } from '../codec/proof.js';
import { ensureDevKeyPair, readPem, Unsealer } from '../codec/seal.js';
import type { KubeSphereClient } from '../kubesphere/client.js';
import { KubeSphereError } from '../kubesphere/errors.js';
import type { Grant } from '../policy/plan.js';
import { DEFAULT_ELEVATED_ROLES } from '../policy/worker-policy.js';
import { createTrustActivities } from './trust.js';

const dir = mkdtempSync(join(tmpdir(), 'ks-trust-'));
const keys = { private: join(dir, 'private.pem'), public: join(dir, 'public.pem') };
ensureDevKeyPair(keys.private, keys.public);
const publicKey = readPem(keys.public);

/** KubeSphere as the worker's account sees it: tokens of known people, their platform roles, workspace admins. */
const people: Record<string, { globalRole: string; adminOf: string[] }> = {
  boss: { globalRole: 'platform-admin', adminOf: [] },
  wanda: { globalRole: 'platform-regular', adminOf: ['team-w'] },
  rita: { globalRole: 'platform-regular', adminOf: [] },
  admin: { globalRole: 'platform-admin', adminOf: [] },
};
const client = {
  whoAmI: async (token: string) => {
    const username = token.replace(/^token-/, '');
    if (!people[username]) throw new KubeSphereError('KS_UNAUTHORIZED', 'token not found in cache');
    return { username };
  },
  getUser: async (name: string) => ({
    metadata: { name, annotations: { 'iam.kubesphere.io/globalrole': people[name]!.globalRole } },
  }),
  usersWithGlobalRole: async (role: string) => Object.keys(people).filter((p) => people[p]!.globalRole === role),
  workspaceRolesOf: async (workspace: string, name: string) =>
    people[name]!.adminOf.includes(workspace) ? [`${workspace}-admin`] : [],
} as unknown as KubeSphereClient;

const policy = {
  elevatedRoles: [...DEFAULT_ELEVATED_ROLES],
  approvalTimeoutMs: 3_600_000,
  protectedWorkspaces: [],
  workerAccount: 'admin',
};
const activities = createTrustActivities({ client, unsealer: new Unsealer([readPem(keys.private)]), policy });
const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A) =>
  new MockActivityEnvironment({}, { logger: quietLogger }).run(fn, ...args);

const wsGrant: Grant = { scope: 'workspace', role: 'admin', target: 'team-w', workspace: 'team-w' };
const platformGrant: Grant = { scope: 'platform', role: 'platform-admin', target: 'platform' };

function decision(who: string, overrides: Partial<UnsealedProof> = {}, grants = [wsGrant], sealedAt = Date.now()) {
  return sealProof(
    {
      purpose: 'approve',
      token: `token-${who}`,
      workflowId: 'onboard-kim',
      runId: 'run-1',
      digest: grantsDigest(grants),
      ...overrides,
    } as UnsealedProof,
    publicKey,
    sealedAt,
  );
}
const verify = (proof: string, grants = [wsGrant], extra: Partial<{ approve: boolean; runId: string }> = {}) =>
  run(activities.verifyApprover, {
    proof,
    workflowId: 'onboard-kim',
    runId: extra.runId ?? 'run-1',
    approve: extra.approve ?? true,
    grants,
    requester: 'rita',
    subject: 'kim',
  });

async function refusedWith(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  expect((error as ApplicationFailure).type).toBe('ApprovalRefused');
  expect((error as ApplicationFailure).nonRetryable).toBe(true);
  return (error as ApplicationFailure).message;
}

describe('verifyApprover', () => {
  it("accepts the workspace's admin for a workspace grant and a platform-admin for anything", async () => {
    await expect(verify(decision('wanda'))).resolves.toEqual({ approver: 'wanda' });
    await expect(verify(decision('boss', {}, [platformGrant]), [platformGrant])).resolves.toEqual({ approver: 'boss' });
  });

  it.each([
    ['the requester', () => verify(decision('rita')), /rita may not decide: they requested it/],
    ["the worker's account", () => verify(decision('admin')), /admin may not decide: it is the worker's own account/],
    [
      'a workspace admin for a platform grant',
      () => verify(decision('wanda', {}, [platformGrant]), [platformGrant]),
      /do not cover platform:platform-admin/,
    ],
    [
      'a proof for another workflow',
      () => verify(decision('boss', { workflowId: 'onboard-eve' })),
      /made for onboard-eve, not this workflow/,
    ],
    [
      'a proof for another run',
      () => verify(decision('boss'), [wsGrant], { runId: 'run-2' }),
      /another run of this workflow/,
    ],
    ['a proof for other grants', () => verify(decision('boss'), [platformGrant]), /made for a different request/],
    [
      'an approval proof used to reject',
      () => verify(decision('boss'), [wsGrant], { approve: false }),
      /is for "approve", not "reject"/,
    ],
    ['an unknown token', () => verify(decision('nobody')), /does not accept the login in the proof/],
    ['not a proof', () => verify('ks-sealed:v2:nonsense'), /no private key with id nonsense/],
  ])('refuses %s, saying why', async (_label, call, message) => {
    expect(await refusedWith(call())).toMatch(message);
  });

  it('refuses a proof whose sealer chose an expiry too far ahead', async () => {
    const hoarded = decision('boss', {}, [wsGrant], Date.now() + 24 * 60 * 60_000);
    expect(await refusedWith(verify(hoarded))).toMatch(/further ahead than a proof may live/);
  });

  it('refuses an expired proof', async () => {
    const old = decision('boss', {}, [wsGrant], Date.now() - 60 * 60_000);
    expect(await refusedWith(verify(old))).toMatch(/the proof expired at/);
  });
});

describe('verifyRequester', () => {
  const request = { username: 'kim', workspace: 'team-w' };
  const proof = (who: string, fields = request) =>
    sealProof(
      { purpose: 'request', token: `token-${who}`, workflowId: 'onboard-kim', digest: requestDigest(fields) },
      publicKey,
    );

  it("reads the requester's authority from KubeSphere", async () => {
    await expect(
      run(activities.verifyRequester, {
        proof: proof('wanda'),
        workflowId: 'onboard-kim',
        request,
        workspaces: ['team-w'],
      }),
    ).resolves.toEqual({ username: 'wanda', platformAdmin: false, workspaceAdminOf: ['team-w'] });
  });

  it('refuses a proof made for another request', async () => {
    const error = await run(activities.verifyRequester, {
      proof: proof('wanda', { username: 'kim', workspace: 'team-x' }),
      workflowId: 'onboard-kim',
      request,
      workspaces: ['team-w'],
    }).catch((e: unknown) => e);
    expect((error as ApplicationFailure).type).toBe('RequesterRefused');
  });
});

describe('a batch carry', () => {
  const trust = createTrustActivities({
    client,
    unsealer: new Unsealer([readPem(keys.private)]),
    policy: { elevatedRoles: [...DEFAULT_ELEVATED_ROLES], approvalTimeoutMs: 3_600_000, protectedWorkspaces: [] },
  });
  const env = new MockActivityEnvironment(undefined, { logger: quietLogger });
  const carry = { requester: { username: 'boss', platformAdmin: true, workspaceAdminOf: [] }, verifiedAt: 'x' };

  it('is signed for one batch and checked by any worker with the key ring; a change or another batch fails', async () => {
    const mac = (await env.run(trust.signCarry, { workflowId: 'import-a', carry })) as string;
    expect(await env.run(trust.checkCarry, { workflowId: 'import-a', carry, mac })).toBe(true);
    expect(await env.run(trust.checkCarry, { workflowId: 'import-b', carry, mac })).toBe(false);
    const forged = { ...carry, requester: { ...carry.requester, username: 'rita' } };
    expect(await env.run(trust.checkCarry, { workflowId: 'import-a', carry: forged, mac })).toBe(false);
    expect(await env.run(trust.checkCarry, { workflowId: 'import-a', carry, mac: `${mac.split(':')[0]}:AAAA` })).toBe(
      false,
    );
  });

  it('cannot be signed by a key outside the ring', async () => {
    const otherDir = mkdtempSync(join(tmpdir(), 'ks-other-'));
    ensureDevKeyPair(join(otherDir, 'private.pem'), join(otherDir, 'public.pem'));
    const mac = new Unsealer([readPem(join(otherDir, 'private.pem'))]).mac(
      JSON.stringify({ carry, workflowId: 'import-a' }),
    );
    expect(await env.run(trust.checkCarry, { workflowId: 'import-a', carry, mac })).toBe(false);
  });
});
