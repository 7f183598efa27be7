import { planOnboarding, type Grant, type OnboardRequest } from '../policy/plan.js';
import type { Problem } from '../policy/names.js';
import type { HireEvent, HrVendor } from './hire-event.js';
import { placeHire, type PlacementMapping } from './placement.js';
import { usernameFor } from './username.js';

/**
 * A hire turned into an onboarding request with the placement mapping: the same function in the intake (to
 * answer at once) and in the worker (which decides). Pure.
 */
export type HireRequest = { ok: true; username: string; request: OnboardRequest } | { ok: false; problems: Problem[] };

export function hireRequest(mapping: PlacementMapping, event: HireEvent): HireRequest {
  const name = usernameFor(event);
  if (!name.ok) return { ok: false, problems: [name.problem] };
  const placed = placeHire(mapping, event, name.username);
  if (!placed.ok) return { ok: false, problems: placed.problems };
  const planned = planOnboarding(placed.request);
  if (!planned.ok) return { ok: false, problems: planned.problems };
  return { ok: true, username: name.username, request: placed.request };
}

/**
 * What the mapping itself gives this hire's department and team (an explicit workspace or project on the event
 * left aside): the grants an HR delivery may make without an approval. Only `platform-regular` when the mapping
 * places them nowhere.
 */
export function mappedGrants(mapping: PlacementMapping, event: HireEvent, username: string): Grant[] {
  const { workspace: _workspace, project: _project, ...byMapping } = event;
  const placed = placeHire(mapping, byMapping, username);
  const planned = placed.ok ? planOnboarding(placed.request) : undefined;
  return planned?.ok ? planned.plan.grants : [{ scope: 'platform', role: 'platform-regular', target: 'platform' }];
}

/** How an event is known across deliveries and vendors (the `OnboardingEventId` search attribute). */
export function eventKey(vendor: HrVendor, eventId: string): string {
  return `${vendor}:${eventId}`;
}
