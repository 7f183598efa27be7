import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '../policy/canonical.js';
import { SealError, sealLarge, type Unsealer } from './seal.js';

/**
 * A proof of who asks or who decides: the holder's own KubeSphere access token, bound to one workflow,
 * to a digest of exactly what is asked or decided, and to an expiry, then sealed for the workers. The
 * worker asks KubeSphere who holds the token; the binding stops a proof from being replayed on another
 * workflow, another run or another request, and history never holds a usable token.
 */
const base = {
  v: z.literal(1),
  token: z.string().min(1),
  workflowId: z.string().min(1),
  /** sha256 (hex) of what is asked (a request) or decided on (the pending grants) */
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  expiresAt: z.iso.datetime(),
};
const proofSchema = z.discriminatedUnion('purpose', [
  z.strictObject({ ...base, purpose: z.literal('request') }),
  z.strictObject({ ...base, purpose: z.enum(['approve', 'reject']), runId: z.string().min(1) }),
]);
export type Proof = z.infer<typeof proofSchema>;

/** How long a sealed proof is good for: long enough to reach a worker, too short to hoard. */
export const PROOF_LIFETIME_MS = 15 * 60_000;

/** sha256 of a canonical JSON form (keys sorted), so both sides digest the same thing the same way. */
export function digestOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** The digest a requester's proof is bound to: the request's fields (`onboardingFields`, `roleChangeFields`). */
export function requestDigest(request: Record<string, string>): string {
  return digestOf({ request });
}

/** The digest a decision's proof is bound to: the grants decided on. */
export function grantsDigest(grants: ReadonlyArray<{ scope: string; role: string; target: string }>): string {
  return digestOf({ grants: grants.map((g) => ({ scope: g.scope, role: g.role, target: g.target })) });
}

/** A proof before it is dated and sealed. */
export type UnsealedProof = Proof extends infer P ? (P extends Proof ? Omit<P, 'v' | 'expiresAt'> : never) : never;

export function sealProof(proof: UnsealedProof, publicKeyPem: string, now = Date.now()): string {
  const full = { v: 1, ...proof, expiresAt: new Date(now + PROOF_LIFETIME_MS).toISOString() };
  return sealLarge(JSON.stringify(full), publicKeyPem);
}

export function openProof(sealed: string, unsealer: Unsealer): Proof {
  const opened = unsealer.open(sealed);
  let parsed: unknown;
  try {
    parsed = JSON.parse(opened);
  } catch {
    throw new SealError('the proof is not a ks-onboard proof');
  }
  const result = proofSchema.safeParse(parsed);
  if (!result.success) throw new SealError('the proof is not a ks-onboard proof of this version');
  return result.data;
}
