import { planOnboarding, type OnboardRequest } from '../policy/plan.js';
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

/** The workspaces the mapping places people in: an HR delivery may place there without an approval. */
export function mappedWorkspaces(mapping: PlacementMapping): string[] {
  const departments = Object.values(mapping.departments).map((d) => d.workspace);
  const teams = Object.values(mapping.teams ?? {}).map((t) => t.workspace);
  return [...new Set([...departments, ...teams])].sort();
}

/** How an event is known across deliveries and vendors (the `OnboardingEventId` search attribute). */
export function eventKey(vendor: HrVendor, eventId: string): string {
  return `${vendor}:${eventId}`;
}
