import type { SearchAttributePair, SearchAttributeUpdatePair } from '@temporalio/common';
import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { SA, SEARCH_ATTRIBUTE_KEYS, type Lifecycle } from './definitions.js';

/** What the search attributes say about a workflow besides its lifecycle. */
export interface Labels {
  username?: unknown;
  workspace?: unknown;
  placements?: unknown;
  batchId?: unknown;
  source?: unknown;
}

/** Temporal refuses a search attribute value over 2 KB: workspaces beyond this many characters are left out. */
const MAX_WORKSPACE_CHARACTERS = 1500;

/**
 * The search attributes that describe a request in this lifecycle (its batch starts a row with them). An HR event's
 * key only once a worker has verified the delivery: the intake takes a labelled event for one seen before.
 */
export function labelAttributes(lifecycle: Lifecycle, labels: Labels, verified = false): SearchAttributePair[] {
  const text = (value: unknown) =>
    typeof value === 'string' && value !== '' && value.length <= 253 ? value : undefined;
  const attributes: SearchAttributePair[] = [{ key: SA.state, value: lifecycle }];
  const username = text(labels.username);
  // The single-placement field, or every placement's workspace.
  const placements = Array.isArray(labels.placements) ? (labels.placements as Array<{ workspace?: unknown }>) : [];
  const workspaces = [
    ...new Set([labels.workspace, ...placements.map((p) => p?.workspace)].flatMap((w) => text(w) ?? [])),
  ];
  const batchId = text(labels.batchId);
  if (username) attributes.push({ key: SA.username, value: username });
  let characters = 0;
  const listed = workspaces.slice(0, 50).filter((w) => (characters += w.length + 3) <= MAX_WORKSPACE_CHARACTERS);
  if (listed.length) attributes.push({ key: SA.workspace, value: listed });
  if (batchId) attributes.push({ key: SA.batchId, value: batchId });
  const source = sourceLabel(labels.source);
  if (source) attributes.push({ key: SA.source, value: source.source });
  if (source?.eventId && verified) attributes.push({ key: SA.eventId, value: source.eventId });
  return attributes;
}

/**
 * Records the lifecycle in the state query and in `OnboardingState`, with the other labels. Only what differs from
 * the workflow's search attributes now is written (no event that says nothing new), and any of ours the request
 * does not have is removed: whoever started the workflow may have set them (a forged `OnboardingEventId` would
 * make the HR intake take a hire for a duplicate).
 */
export function setLifecycle(
  state: { lifecycle: Lifecycle; requestedBy?: string },
  lifecycle: Lifecycle,
  labels: Labels,
): void {
  state.lifecycle = lifecycle;
  const wanted = labelAttributes(lifecycle, labels, state.requestedBy !== undefined);
  const current = workflowInfo().typedSearchAttributes;
  const changes: SearchAttributeUpdatePair[] = wanted.filter(
    (pair) => JSON.stringify(current.get(pair.key)) !== JSON.stringify(pair.value),
  );
  for (const key of SEARCH_ATTRIBUTE_KEYS)
    if (current.get(key) !== undefined && !wanted.some((pair) => pair.key.name === key.name))
      changes.push({ key, value: null } as SearchAttributeUpdatePair);
  if (changes.length) upsertSearchAttributes(changes);
}

/** `cli`, `batch` or `hr:<vendor>` (with the HR event's key), from a request's source. */
function sourceLabel(source: unknown): { source: string; eventId?: string } | undefined {
  if (typeof source !== 'object' || source === null) return undefined;
  const { kind, vendor, eventId } = source as { kind?: unknown; vendor?: unknown; eventId?: unknown };
  if (kind === 'requester') return { source: 'cli' };
  if (kind === 'batch') return { source: 'batch' };
  if (kind === 'hr' && typeof vendor === 'string' && /^[a-z]{1,20}$/.test(vendor))
    return { source: `hr:${vendor}`, ...(typeof eventId === 'string' && eventId.length <= 200 ? { eventId } : {}) };
  return undefined;
}
