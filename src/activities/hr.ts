import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { FailureType } from '../failures.js';
import { formatProblems } from '../policy/names.js';
import type { Grant, OnboardRequest } from '../policy/plan.js';
import type { HrSource } from '../policy/requests.js';
import { DeliveryError, type Delivery, type HireEvent, type HrVendor } from '../intake/hire-event.js';
import type { HrConfig } from '../intake/config.js';
import { eventKey, hireRequest, mappedGrants } from '../intake/hire-request.js';
import { provisionTime, startDateProblem } from '../intake/start-date.js';
import { SA } from '../workflows/definitions.js';
import { adapterFor } from '../intake/vendors/index.js';
import { VendorRecordError } from '../intake/vendors/api.js';
import type { VendorApi } from '../intake/vendors/types.js';
import { hrStartOptions } from '../intake/start-options.js';
import { proposeOnboarding, RequestConflictError } from '../temporal/start.js';
import { WORKFLOW_ID, type RequestAnswer } from '../workflows/definitions.js';
import { failure, mapFailures } from './to-failure.js';

/** What the worker reads in an HR delivery, with its own secrets, vendor credentials and mapping. */
export interface HireReading {
  /** `<vendor>:<event id>` */
  eventId: string;
  username: string;
  request: OnboardRequest;
  /** what the worker's mapping gives this hire: HR may grant exactly these without an approval */
  mappedGrants: Grant[];
  startDate: string;
  /** when to provision: the start date's first moment in the configured time zone, less the lead time */
  provisionAt: string;
}

/**
 * How long before its run started a delivery may have been signed: the intake acknowledges within seconds, and a
 * lookup's proposal follows its reading of the vendor's record (retried up to five minutes). HiBob signs the
 * event's own time, the same on every retry: its adapter allows four days. Older deliveries are replays.
 */
export const WORKER_DELIVERY_WINDOW_MS = 15 * 60_000;

export interface ReadHireInput {
  vendor: HrVendor;
  eventId: string;
  delivery: Delivery;
  /** when the reading run started (its workflow time): the delivery must have been signed shortly before */
  runStartedAt: number;
  /** an onboarding, not a lookup: refused when another run already onboarded this event */
  once?: boolean;
}

export interface HrActivityDeps {
  /** undefined: this worker takes no HR deliveries */
  hr: HrConfig | undefined;
  vendorApi: VendorApi | undefined;
  client: Client;
}

export type ProposeHireResult =
  { proposed: true; workflowId: string; answer: RequestAnswer } | { conflict: string; workflowId: string };

export function createHrActivities({ hr, vendorApi, client }: HrActivityDeps) {
  const refuse = (message: string) => failure(FailureType.DeliveryRefused, message, true);

  async function hireOf(input: ReadHireInput, config: HrConfig): Promise<HireEvent> {
    const { vendor, delivery } = input;
    const adapter = adapterFor(vendor);
    try {
      // Measured from the run's start, not from now: a scheduled hire is read again weeks later, while a Reset long
      // after, like a replay from a raw client, is refused.
      adapter.verify(delivery, config.vendors.secrets[vendor], {
        now: input.runStartedAt,
        toleranceMs: WORKER_DELIVERY_WINDOW_MS,
      });
    } catch (error) {
      if (error instanceof DeliveryError)
        throw refuse(
          error.message.includes('replayed')
            ? `the ${vendor} delivery was signed too long before this run started (${error.message}): deliver it again`
            : `the ${vendor} delivery's signature does not hold with this worker's secrets`,
        );
      throw error;
    }
    let content;
    try {
      content = adapter.read(delivery);
    } catch (error: unknown) {
      if (error instanceof DeliveryError)
        throw refuse(
          `the ${vendor} delivery cannot be read: ${error.problems.length ? formatProblems(error.problems) : error.message}`,
        );
      throw error;
    }
    if (content.kind === 'ignored') throw refuse(`the ${vendor} delivery is a ${content.type} event, not a hire`);
    if (content.kind === 'hire') return content.event;
    if (!vendorApi) throw refuse(`this worker has no ${vendor} API credentials to read employee ${content.employeeId}`);
    try {
      return await vendorApi.fetchHire(vendor, { eventId: content.eventId, employeeId: content.employeeId });
    } catch (error) {
      if (error instanceof VendorRecordError) throw refuse(error.message);
      throw error; // the vendor's API is unavailable: retried
    }
  }

  /** A delivery is acted on once: another onboarding that completed this event refuses a replay of it. */
  async function checkOnce(key: string): Promise<void> {
    const { workflowExecution, taskQueue } = Context.current().info;
    const ownRun = workflowExecution?.runId;
    const query = [
      `${SA.eventId.name} = ${JSON.stringify(key)}`,
      `WorkflowType = "onboardUser"`,
      `ExecutionStatus = "Completed"`,
      `TaskQueue = ${JSON.stringify(taskQueue)}`,
    ].join(' AND ');
    for await (const run of client.workflow.list({ query, pageSize: 5 })) {
      if (run.runId === ownRun) continue;
      throw failure(
        FailureType.DuplicateDelivery,
        `HR event ${key} was onboarded already by ${run.workflowId} (run ${run.runId}, closed ${run.closeTime?.toISOString() ?? ''}): a delivery is acted on once`,
        true,
      );
    }
  }

  return mapFailures({
    /** Verifies a delivery with the worker's own secrets and places the person with the worker's own mapping. */
    async readHire(input: ReadHireInput): Promise<HireReading> {
      if (!hr)
        throw refuse('this worker takes no HR deliveries (no webhook secrets configured: see the README, HR intake)');
      if (!hr.mapping) throw refuse('this worker has no placement mapping (KS_ONBOARD_PLACEMENT)');
      const event = await hireOf(input, hr);
      const key = eventKey(input.vendor, event.eventId);
      if (key !== input.eventId) throw refuse(`the delivery is event ${key}, not ${input.eventId}`);
      const asked = hireRequest(hr.mapping, event);
      if (!asked.ok) throw refuse(`the hire cannot be placed: ${formatProblems(asked.problems)}`);
      const dateProblem = startDateProblem(event.startDate, hr.timeZone, input.runStartedAt);
      if (dateProblem) throw refuse(dateProblem);
      if (input.once) await checkOnce(key);
      return {
        eventId: key,
        username: asked.username,
        request: asked.request,
        mappedGrants: mappedGrants(hr.mapping, event, asked.username),
        startDate: event.startDate,
        provisionAt: new Date(provisionTime(event.startDate, hr.timeZone, hr.leadTimeMs)).toISOString(),
      };
    },

    /**
     * Proposes the onboarding of a hire the webhook named only by ids, once its record is read: the onboarding
     * verifies the delivery again itself, so this proposes and decides nothing.
     */
    async proposeHire(input: {
      source: HrSource;
      request: OnboardRequest;
      prefix: string;
    }): Promise<ProposeHireResult> {
      const workflowId = WORKFLOW_ID.onboard(input.request.username, input.prefix);
      const { taskQueue } = Context.current().info;
      try {
        const { answer } = await proposeOnboarding(
          client,
          taskQueue,
          { ...input.request, source: input.source },
          workflowId,
          hrStartOptions(input.source),
        );
        return { proposed: true, workflowId, answer };
      } catch (error) {
        if (error instanceof RequestConflictError) return { conflict: error.message, workflowId };
        throw error;
      }
    },
  });
}

export type HrActivities = ReturnType<typeof createHrActivities>;
