import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import type { Logger } from 'pino';
import type { OnboardRequest } from '../policy/plan.js';
import type { HrSource } from '../policy/requests.js';
import { proposeOnboarding, RequestConflictError } from '../temporal/start.js';
import { SA, WORKFLOW_ID } from '../workflows/definitions.js';
import { FailureType } from '../failures.js';
import type { hireEvent } from '../workflows/hire-event.js';
import type { HrConfig } from './config.js';
import { DeliveryError, type Delivery, type HrVendor } from './hire-event.js';
import { eventKey, hireRequest } from './hire-request.js';
import type { PlacementMapping } from './placement.js';
import { hrStartOptions } from './start-options.js';
import { startDateProblem } from './start-date.js';
import { adapterFor, hiBobAdapter } from './vendors/index.js';
import { deliveryLabel } from './delivery-label.js';
import { scrubEmails } from './status.js';

/**
 * How far a delivery's timestamp may be from our clock (Standard Webhooks' recommendation, and its package's own
 * window, which judges generic deliveries on arrival).
 */
export const TIMESTAMP_TOLERANCE_MS = 5 * 60_000;
/** How long the first call to Temporal may take before the delivery is answered 503. */
const TEMPORAL_DEADLINE_MS = 3_000;
/** How long a request waits for the worker's first answer before it acknowledges with the workflow id alone. */
const ANSWER_WAIT_MS = 5_000;

export interface DeliveryDeps {
  client: Client;
  taskQueue: string;
  /** KS_ONBOARD_WORKFLOW_ID_PREFIX */
  prefix: string;
  hr: HrConfig & { mapping: PlacementMapping };
  log: Logger;
  /** the clock of start dates and vendor timestamps (Standard Webhooks' arrival check reads the real one) */
  now?: () => number;
}

/** The HTTP answer to a delivery: a status and a JSON body (never a secret, never how close a signature was). */
export interface DeliveryAnswer {
  status: 200 | 202 | 400 | 401 | 409 | 422 | 503;
  body: Record<string, unknown>;
}

/**
 * One delivery, in the request path: verify, read, deduplicate, place, propose. Everything that may take long
 * (a vendor's API, KubeSphere) happens in workflows; the worker verifies the delivery again and decides.
 */
export async function receiveDelivery(
  deps: DeliveryDeps,
  vendor: HrVendor,
  delivery: Delivery,
): Promise<DeliveryAnswer> {
  const adapter = adapterFor(vendor);
  const now = deps.now ?? Date.now;
  try {
    adapter.verify(delivery, deps.hr.vendors.secrets[vendor], {
      now: now(),
      toleranceMs: TIMESTAMP_TOLERANCE_MS,
      arriving: true,
    });
    const content = adapter.read(delivery);
    if (content.kind === 'ignored')
      return {
        status: 202,
        body: {
          ignored: true,
          type: content.type,
          reason: 'ks-onboard acts on hires only; it never removes or downgrades anyone from an HR feed',
        },
      };
    const eventId = eventKey(vendor, content.kind === 'hire' ? content.event.eventId : content.eventId);
    const seen = await findEvent(deps, eventId);
    if (seen) return duplicate(seen, eventId);
    const source: HrSource = { kind: 'hr', vendor, eventId, delivery, receiptId: randomUUID() };
    if (content.kind === 'hire-by-id') return await startLookup(deps, source);
    const dateProblem = startDateProblem(content.event.startDate, deps.hr.timeZone, now());
    if (dateProblem) return { status: 422, body: { error: dateProblem, eventId } };
    const asked = hireRequest(deps.hr.mapping, content.event);
    if (!asked.ok)
      return {
        status: 422,
        body: {
          error: `the hire cannot be placed: ${asked.problems.map(namedProblem).join('; ')}`,
          problems: asked.problems,
          eventId,
        },
      };
    return await propose(deps, source, asked.request);
  } catch (error) {
    if (error instanceof DeliveryError)
      return {
        status: error.status,
        body: { error: error.message, ...(error.problems.length ? { problems: error.problems } : {}) },
      };
    throw error;
  }
}

/**
 * Bob's connection test (`isBobConnectionTest`): 200 and nothing started, whether or not it is signed. Bob's
 * documentation does not say that it signs the test, and its fixed text can start nothing. A signature that is
 * there must hold, though: a secret mistyped in Bob then shows when the webhook is set up, not at the first hire.
 */
export function receiveConnectionTest(deps: DeliveryDeps, delivery: Delivery): DeliveryAnswer {
  const signed = Boolean(delivery.headers['bob-signature']);
  try {
    // No body time to check: the test carries none.
    if (signed) hiBobAdapter.verify(delivery, deps.hr.vendors.secrets.hibob, { now: (deps.now ?? Date.now)() });
  } catch (error) {
    if (error instanceof DeliveryError) return { status: error.status, body: { error: error.message } };
    throw error;
  }
  return { status: 200, body: { connectionTest: true, signed, started: 'nothing' } };
}

/**
 * A delivery of an event seen before: its workflow, found by the `OnboardingEventId` search attribute. Only our own
 * workflow types on our task queue count, and not runs that failed (the vendor's next delivery tries again): anyone
 * may label a workflow of theirs with an event id. Visibility lags a start by about a second; duplicates inside that
 * window meet the running workflow instead.
 */
async function findEvent(deps: DeliveryDeps, eventId: string): Promise<string | undefined> {
  const query = [
    `${SA.eventId.name} = ${JSON.stringify(eventId)}`,
    `WorkflowType IN ("onboardUser", "hireEvent")`,
    `TaskQueue = ${JSON.stringify(deps.taskQueue)}`,
    `ExecutionStatus IN ("Running", "Completed", "Canceled")`,
  ].join(' AND ');
  const found: string[] = [];
  // A Temporal that does not answer is said so within seconds (503: the vendor delivers again), not at the timeout.
  await deps.client.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, async () => {
    for await (const execution of deps.client.workflow.list({ query, pageSize: 10 })) {
      const id = execution.workflowId;
      if (id.startsWith(`${deps.prefix}onboard-`) || id.startsWith(`${deps.prefix}hr-`)) found.push(id);
      if (found.length >= 10) break;
    }
  });
  // The onboarding itself rather than the lookup that proposed it.
  return found.find((id) => id.startsWith(`${deps.prefix}onboard-`)) ?? found[0];
}

/** A problem as one phrase that names its field (most messages already begin with it). */
function namedProblem(problem: { field: string; message: string }): string {
  return problem.message.startsWith(problem.field) ? problem.message : `${problem.field}: ${problem.message}`;
}

function statusUrl(workflowId: string): string {
  return `/v1/onboardings/${encodeURIComponent(workflowId)}`;
}

// Logged by the server, with the delivery's label, as every answer is.
function duplicate(workflowId: string, eventId: string): DeliveryAnswer {
  return { status: 200, body: { duplicate: true, workflowId, statusUrl: statusUrl(workflowId), eventId } };
}

/** A hire with everything needed: `onboard-<username>`, or the run already going for the same event. */
async function propose(deps: DeliveryDeps, source: HrSource, request: OnboardRequest): Promise<DeliveryAnswer> {
  const workflowId = WORKFLOW_ID.onboard(request.username, deps.prefix);

  const proposed = startOrAttach(deps, workflowId, source, request);
  let answer;
  try {
    const outcome = await Promise.race([proposed, delay(ANSWER_WAIT_MS)]);
    if (!outcome) {
      // No worker answered yet: the workflow is started (the start and the proposal are one call); its answer follows.
      void proposed.then(
        (late) => logLateAnswer(deps, source, workflowId, late),
        (error: unknown) => logLateFailure(deps, source, workflowId, error),
      );
      return {
        status: 202,
        body: { workflowId, statusUrl: statusUrl(workflowId), eventId: source.eventId, lifecycle: 'pending' },
      };
    }
    if (outcome === 'duplicate') return duplicate(workflowId, source.eventId);
    answer = outcome.answer;
  } catch (error) {
    if (error instanceof RequestConflictError)
      return {
        status: 409,
        body: { error: error.message, workflowId, statusUrl: statusUrl(workflowId), eventId: source.eventId },
      };
    throw error;
  }
  if (answer.receiptId !== source.receiptId) return duplicate(workflowId, source.eventId);
  // The run for this event ended between our lookup and this start: the new run refused it as done already.
  if (answer.error?.type === FailureType.DuplicateDelivery) return duplicate(workflowId, source.eventId);
  if (answer.error)
    return {
      status: 422,
      body: { error: `the worker refused the hire: ${answer.error.message}`, workflowId, eventId: source.eventId },
    };
  return {
    status: 202,
    body: {
      workflowId,
      statusUrl: statusUrl(workflowId),
      eventId: source.eventId,
      lifecycle: answer.lifecycle,
      ...(answer.scheduledFor ? { scheduledFor: answer.scheduledFor } : {}),
      ...(answer.approvals.length
        ? { awaitingApproval: answer.approvals.map((g) => `${g.scope}:${g.role} on ${g.target}`) }
        : {}),
    },
  };
}

/**
 * The worker's answer to a delivery already acknowledged as pending (202): the vendor will not hear it, so a
 * refusal is logged (warn) where an operator looks, with what names the delivery and the run, never an email.
 * An acceptance is logged at info; a duplicate, which changes nothing, is not.
 */
function logLateAnswer(
  deps: DeliveryDeps,
  source: HrSource,
  workflowId: string,
  late: Awaited<ReturnType<typeof startOrAttach>>,
): void {
  if (late === 'duplicate' || late.answer.receiptId !== source.receiptId) return;
  const { error, lifecycle } = late.answer;
  if (!error) {
    deps.log.info(lateFields(source, workflowId, { lifecycle }), 'HR delivery answered after its acknowledgement');
  } else if (error.type !== FailureType.DuplicateDelivery) {
    deps.log.warn(
      lateFields(source, workflowId, { reason: { type: error.type, message: scrubEmails(error.message) } }),
      'HR delivery refused by the worker after the intake acknowledged it (202 pending): nothing will be provisioned',
    );
  }
}

/** A conflict (another hire event for the person) or a failure, after the 202: logged, not dropped. */
function logLateFailure(deps: DeliveryDeps, source: HrSource, workflowId: string, error: unknown): void {
  const reason =
    error instanceof RequestConflictError
      ? { type: 'RequestConflict', message: scrubEmails(error.message) }
      : {
          type: error instanceof Error ? error.name : 'Error',
          message: scrubEmails(error instanceof Error ? error.message : String(error)),
        };
  deps.log.warn(
    lateFields(source, workflowId, { reason }),
    error instanceof RequestConflictError
      ? 'HR delivery conflicts with the request running for that person, after the intake acknowledged it (202 pending): it is not merged'
      : "HR delivery's proposal failed after the intake acknowledged it (202 pending)",
  );
}

function lateFields(source: HrSource, workflowId: string, extra: Record<string, unknown>): Record<string, unknown> {
  const { headers, body } = source.delivery;
  return {
    vendor: source.vendor,
    ...deliveryLabel(source.vendor, headers, body),
    eventId: source.eventId,
    workflowId,
    late: true,
    ...extra,
  };
}

/**
 * Attaches to the person's running onboarding, or starts one. A run of this event may have just ended without
 * visibility showing it yet: a start never follows a closed run blindly (REJECT_DUPLICATE); the latest run says
 * whether it was this event (a duplicate) or another one, or this one failed (then a new run starts).
 */
async function startOrAttach(
  deps: DeliveryDeps,
  workflowId: string,
  source: HrSource,
  request: OnboardRequest,
): Promise<Awaited<ReturnType<typeof proposeOnboarding>> | 'duplicate'> {
  const input = { ...request, source };
  const labels = hrStartOptions(source);
  try {
    return await proposeOnboarding(deps.client, deps.taskQueue, input, workflowId, {
      ...labels,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
  if (await endedWithEvent(deps, workflowId, source.eventId)) return 'duplicate';
  return proposeOnboarding(deps.client, deps.taskQueue, input, workflowId, {
    ...labels,
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  });
}

/** Whether the latest run of `workflowId` is this event's, and ended other than by failing. */
async function endedWithEvent(deps: DeliveryDeps, workflowId: string, eventId: string): Promise<boolean> {
  try {
    const description = await deps.client.workflow.getHandle(workflowId).describe();
    const labelled = description.searchAttributes[SA.eventId.name];
    return (
      Array.isArray(labelled) && labelled[0] === eventId && ['COMPLETED', 'CANCELLED'].includes(description.status.name)
    );
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

/** A hire named only by ids: a workflow per event reads the vendor's record, then proposes the onboarding. */
async function startLookup(deps: DeliveryDeps, source: HrSource): Promise<DeliveryAnswer> {
  const workflowId = WORKFLOW_ID.hireEvent(source.vendor, source.eventId, deps.prefix);
  try {
    await deps.client.workflow.start<typeof hireEvent>('hireEvent', {
      taskQueue: deps.taskQueue,
      workflowId,
      args: [source],
      // Once per event (while Temporal keeps the closed run), unless that run failed: the next delivery tries again.
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      staticSummary: `new hire: HR event ${source.eventId}`,
      ...hrStartOptions(source),
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError)
      return duplicate(await lookedUp(deps, workflowId), source.eventId);
    throw error;
  }
  return {
    status: 202,
    body: { workflowId, statusUrl: statusUrl(workflowId), eventId: source.eventId, lifecycle: 'reading-record' },
  };
}

/** The onboarding a finished lookup proposed, else the lookup itself. */
async function lookedUp(deps: DeliveryDeps, workflowId: string): Promise<string> {
  const handle = deps.client.workflow.getHandle<typeof hireEvent>(workflowId);
  try {
    const description = await handle.describe();
    if (description.status.name !== 'COMPLETED') return workflowId;
    return (await handle.result()).onboardingWorkflowId;
  } catch (error) {
    if (error instanceof WorkflowFailedError) return workflowId;
    throw error;
  }
}

function delay(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms).unref());
}
