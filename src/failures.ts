/**
 * Failure types of our own, beside the KubeSphere codes (KS_*) that activities pass through as types.
 * Sandbox-safe: imported by workflows, activities and the CLI alike.
 */
export const FailureType = {
  /** something that exists differs from what was asked; the details name each field */
  ResourceMismatch: 'ResourceMismatch',
  /** a built-in role is not there yet right after its workspace or project was created */
  RoleNotReady: 'RoleNotReady',
  /** a required workspace or project does not exist and creating it was not asked for */
  Missing: 'Missing',
  /** a role change for someone who is not a member */
  NotAMember: 'NotAMember',
  /** the request breaks a rule of src/policy (names, built-in roles) */
  PolicyViolation: 'PolicyViolation',
  ApprovalRejected: 'ApprovalRejected',
  ApprovalTimedOut: 'ApprovalTimedOut',
  /** a sealed password could not be opened on this worker */
  SealError: 'SealError',
  /** the requester's proof is missing, expired, bound to something else, or KubeSphere does not know its token */
  RequesterRefused: 'RequesterRefused',
  /** an HR delivery the worker does not accept: signature, body, mapping, or not what the request asks */
  DeliveryRefused: 'DeliveryRefused',
  /** an HR delivery whose event another run already onboarded: acted on once (the intake answers it as a duplicate) */
  DuplicateDelivery: 'DuplicateDelivery',
  /** an approval whose proof or approver does not hold (not authorized, requester, the person, the worker) */
  ApprovalRefused: 'ApprovalRefused',
  /** the worker's own account, or the last platform-admin: never changed */
  ProtectedAccount: 'ProtectedAccount',
  /** this workflow is already running a different request for the same person */
  RequestConflict: 'RequestConflict',
  /** another platform role change holds the lock for too long */
  LockBusy: 'LockBusy',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

export interface FieldDifference {
  field: string;
  existing: string;
  requested: string;
}
