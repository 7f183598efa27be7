import { WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporalConfig, type TemporalConfig } from '../config.js';
import { createTemporalClient } from '../temporal/client.js';
import { stateQuery, type OnboardingState } from '../workflows/definitions.js';
import { ExitError } from './options.js';

/** Runs a command body with a Temporal client, closing the connection afterwards. */
export async function withTemporal<T>(run: (client: Client, config: TemporalConfig) => Promise<T>): Promise<T> {
  const config = temporalConfig();
  let client: Client;
  try {
    client = await createTemporalClient(config);
  } catch (error) {
    throw new ExitError(
      `cannot reach Temporal at ${config.address} (namespace ${config.namespace}): ${(error as Error).message}`,
    );
  }
  try {
    return await run(client, config);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError)
      throw new ExitError(`no workflow ${error.workflowId ?? ''} in namespace ${config.namespace}`);
    throw error;
  } finally {
    await client.connection.close();
  }
}

export type Outcome =
  | { ok: true; state: OnboardingState }
  | { ok: false; state: OnboardingState | undefined; message: string; type: string };

/** Waits for a workflow's end and reads its steps from the result or from the failure's details. */
export async function outcomeOf(handle: WorkflowHandle): Promise<Outcome> {
  try {
    return { ok: true, state: (await handle.result()) as OnboardingState };
  } catch (error) {
    if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) {
      const [state] = (error.cause.details ?? []) as [OnboardingState | undefined];
      return {
        ok: false,
        state: state && 'steps' in state ? state : undefined,
        message: error.cause.message,
        type: error.cause.type ?? 'Error',
      };
    }
    if (error instanceof WorkflowFailedError)
      return { ok: false, state: undefined, message: error.cause?.message ?? error.message, type: 'Error' };
    throw error;
  }
}

/** The state of a running workflow (query) or the final one (result or failure details). */
export async function currentState(
  handle: WorkflowHandle,
): Promise<{ status: string; state: OnboardingState | undefined; failure?: string }> {
  const description = await handle.describe();
  const status = description.status.name;
  if (status === 'RUNNING') return { status, state: await handle.query(stateQuery) };
  if (status === 'COMPLETED' || status === 'FAILED') {
    const outcome = await outcomeOf(handle);
    return outcome.ok
      ? { status, state: outcome.state }
      : { status, state: outcome.state, failure: `${outcome.type}: ${outcome.message}` };
  }
  return { status, state: undefined };
}
