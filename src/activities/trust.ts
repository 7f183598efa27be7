import type { KubeSphereClient } from '../kubesphere/client.js';
import { isKubeSphereError } from '../kubesphere/errors.js';
import { KEYS } from '../kubesphere/schemas.js';
import { grantsDigest, openProof, PROOF_LIFETIME_MS, requestDigest, type Proof } from '../codec/proof.js';
import { SealError, type Unsealer } from '../codec/seal.js';
import { FailureType } from '../failures.js';
import { covers, describeGrant, type Authority } from '../policy/authority.js';
import type { Grant } from '../policy/plan.js';
import type { WorkerPolicy } from '../policy/worker-policy.js';
import { canonicalJson } from '../policy/canonical.js';
import { failure, mapFailures } from './to-failure.js';

/** How far the clocks of the sealer and the worker may disagree. */
const CLOCK_SKEW_MS = 5 * 60_000;

export interface TrustActivityDeps {
  client: KubeSphereClient;
  unsealer?: Unsealer;
  policy: WorkerPolicy;
  now?: () => number;
}

export interface VerifyRequesterInput {
  proof: string;
  workflowId: string;
  /** what the workflow itself will do, as `onboardingFields`/`roleChangeFields` list it */
  request: Record<string, string>;
  /** workspaces whose admin role matters for the request's grants */
  workspaces: string[];
}

export interface VerifyApproverInput {
  proof: string;
  workflowId: string;
  runId: string;
  approve: boolean;
  /** the grants waiting for this decision */
  grants: Grant[];
  requester: string;
  /** the person the grants are for */
  subject: string;
}

/**
 * The worker's side of trust: its own policy, and who a proof's holder is and what they may grant, as
 * KubeSphere knows it. Refusals are non-retryable and say why; KubeSphere outages are retried.
 */
export function createTrustActivities({ client, unsealer, policy, now = Date.now }: TrustActivityDeps) {
  function open(sealed: string, refusal: FailureType, expected: Pick<Proof, 'workflowId'> & { digest: string }): Proof {
    if (!unsealer) throw failure(refusal, 'this worker has no key to open sealed proofs', true);
    let proof: Proof;
    try {
      proof = openProof(sealed, unsealer);
    } catch (error) {
      throw failure(refusal, error instanceof SealError ? error.message : 'the proof could not be opened', true);
    }
    if (proof.workflowId !== expected.workflowId)
      throw failure(refusal, `the proof was made for ${proof.workflowId}, not this workflow`, true);
    if (proof.digest !== expected.digest) throw failure(refusal, 'the proof was made for a different request', true);
    const expires = Date.parse(proof.expiresAt);
    if (expires < now()) throw failure(refusal, `the proof expired at ${proof.expiresAt}`, true);
    // The sealer chooses the expiry: one further ahead than a proof's lifetime (plus clock skew) is refused.
    if (expires > now() + PROOF_LIFETIME_MS + CLOCK_SKEW_MS)
      throw failure(refusal, `the proof's expiry ${proof.expiresAt} is further ahead than a proof may live`, true);
    return proof;
  }

  async function holderOf(token: string, refusal: FailureType): Promise<string> {
    try {
      return (await client.whoAmI(token)).username;
    } catch (error) {
      if (isKubeSphereError(error, 'KS_UNAUTHORIZED') || isKubeSphereError(error, 'KS_BAD_INPUT'))
        throw failure(refusal, 'KubeSphere does not accept the login in the proof (expired or revoked)', true);
      throw error;
    }
  }

  async function authorityOf(username: string, workspaces: string[]): Promise<Authority> {
    // Both KubeSphere's role binding (the list) and the user's annotation must say platform-admin: a user may
    // write their own User object, and the annotation alone could be theirs for a moment. Read side by side;
    // workspace roles only matter (and are only read) for someone who is not a platform-admin.
    const [user, admins] = await Promise.all([client.getUser(username), client.usersWithGlobalRole('platform-admin')]);
    const platformAdmin =
      user.metadata.annotations?.[KEYS.globalRole] === 'platform-admin' && admins.includes(username);
    if (platformAdmin) return { username, platformAdmin, workspaceAdminOf: [] };
    const roles = await Promise.all(workspaces.map((workspace) => client.workspaceRolesOf(workspace, username)));
    return {
      username,
      platformAdmin,
      workspaceAdminOf: workspaces.filter((ws, i) => roles[i]!.includes(`${ws}-admin`)),
    };
  }

  return mapFailures({
    /** Run as a local activity at each workflow's start: the decision is recorded in its history. */
    async workerPolicy(): Promise<WorkerPolicy> {
      return policy;
    },

    /** Signs what a batch hands to its own next run (continue-as-new), bound to the batch's workflow id. */
    async signCarry(input: { workflowId: string; carry: unknown }): Promise<string> {
      if (!unsealer) throw failure(FailureType.SealError, 'this worker has no key to sign a batch', true);
      return unsealer.mac(carryText(input));
    },

    /** Whether a batch's carried state was signed by a worker for this batch (false: forged, or from elsewhere). */
    async checkCarry(input: { workflowId: string; carry: unknown; mac: string }): Promise<boolean> {
      return unsealer?.checkMac(carryText(input), input.mac) ?? false;
    },

    /** A requester verified earlier (a batch's), read again by name: what KubeSphere lets them do now. */
    async readAuthority(input: { username: string; workspaces: string[] }): Promise<Authority> {
      return authorityOf(input.username, input.workspaces);
    },

    async verifyRequester(input: VerifyRequesterInput): Promise<Authority> {
      const proof = open(input.proof, FailureType.RequesterRefused, {
        workflowId: input.workflowId,
        digest: requestDigest(input.request),
      });
      if (proof.purpose !== 'request') throw failure(FailureType.RequesterRefused, 'the proof is not a request', true);
      const username = await holderOf(proof.token, FailureType.RequesterRefused);
      return authorityOf(username, input.workspaces);
    },

    async verifyApprover(input: VerifyApproverInput): Promise<{ approver: string }> {
      const proof = open(input.proof, FailureType.ApprovalRefused, {
        workflowId: input.workflowId,
        digest: grantsDigest(input.grants),
      });
      const purpose = input.approve ? 'approve' : 'reject';
      if (proof.purpose !== purpose)
        throw failure(FailureType.ApprovalRefused, `the proof is for "${proof.purpose}", not "${purpose}"`, true);
      if (proof.runId !== input.runId)
        throw failure(FailureType.ApprovalRefused, 'the proof was made for another run of this workflow', true);
      const approver = await holderOf(proof.token, FailureType.ApprovalRefused);
      const refuse = (why: string) => failure(FailureType.ApprovalRefused, `${approver} may not decide: ${why}`, true);
      if (approver === input.requester) throw refuse('they requested it');
      if (approver === input.subject) throw refuse('the grants are for them');
      if (policy.workerAccount && approver === policy.workerAccount) throw refuse("it is the worker's own account");
      const authority = await authorityOf(approver, [...new Set(input.grants.flatMap((g) => g.workspace ?? []))]);
      const uncovered = input.grants.filter((grant) => !covers(authority, grant));
      if (uncovered.length)
        throw refuse(
          `their KubeSphere roles do not cover ${uncovered.map(describeGrant).join(', ')} (platform grants need a platform-admin; workspace and project grants that workspace's admin)`,
        );
      return { approver };
    },
  });
}

export function carryText(input: { workflowId: string; carry: unknown }): string {
  return canonicalJson({ workflowId: input.workflowId, carry: input.carry });
}

export type TrustActivities = ReturnType<typeof createTrustActivities>;
