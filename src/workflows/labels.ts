import type { SearchAttributePair } from '@temporalio/common';
import { upsertSearchAttributes } from '@temporalio/workflow';
import { SA, type Lifecycle } from './definitions.js';

/** What the search attributes say about a workflow besides its lifecycle. */
export interface Labels {
  username?: unknown;
  workspace?: unknown;
  batchId?: unknown;
}

/** Records the lifecycle in the state query and in `OnboardingState`, with the other labels. */
export function setLifecycle(state: { lifecycle: Lifecycle }, lifecycle: Lifecycle, labels: Labels): void {
  state.lifecycle = lifecycle;
  const text = (value: unknown) =>
    typeof value === 'string' && value !== '' && value.length <= 253 ? value : undefined;
  const attributes: SearchAttributePair[] = [{ key: SA.state, value: lifecycle }];
  const username = text(labels.username);
  const workspace = text(labels.workspace);
  const batchId = text(labels.batchId);
  if (username) attributes.push({ key: SA.username, value: username });
  if (workspace) attributes.push({ key: SA.workspace, value: workspace });
  if (batchId) attributes.push({ key: SA.batchId, value: batchId });
  upsertSearchAttributes(attributes);
}
