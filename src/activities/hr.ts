import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { FailureType } from '../failures.js';
import { formatProblems } from '../policy/names.js';
import type { OnboardRequest } from '../policy/plan.js';
import type { HrSource } from '../policy/requests.js';
import { DeliveryError, type Delivery, type HireEvent, type HrVendor } from '../intake/hire-event.js';
import type { HrConfig } from '../intake/config.js';
import { eventKey, hireRequest, mappedWorkspaces } from '../intake/hire-request.js';
import { provisionTime } from '../intake/start-date.js';
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
  /** the workspaces the worker's mapping places people in: HR may place there without an approval */
  mappedWorkspaces: string[];
  startDate: string;
  /** when to provision: the start date's first moment in the configured time zone, less the lead time */
  provisionAt: string;
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

  async function hireOf(vendor: HrVendor, delivery: Delivery, config: HrConfig): Promise<HireEvent> {
    const adapter = adapterFor(vendor);
    try {
      // No time tolerance here: the intake checked it on arrival; the worker may read a delivery weeks later.
      adapter.verify(delivery, config.vendors.secrets[vendor], { now: Date.now() });
    } catch (error) {
      if (error instanceof DeliveryError)
        throw refuse(`the ${vendor} delivery's signature does not hold with this worker's secrets`);
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

  return mapFailures({
    /** Verifies a delivery with the worker's own secrets and places the person with the worker's own mapping. */
    async readHire(input: { vendor: HrVendor; eventId: string; delivery: Delivery }): Promise<HireReading> {
      if (!hr)
        throw refuse('this worker takes no HR deliveries (no webhook secrets configured: see the README, HR intake)');
      if (!hr.mapping) throw refuse('this worker has no placement mapping (KS_ONBOARD_PLACEMENT)');
      const event = await hireOf(input.vendor, input.delivery, hr);
      const key = eventKey(input.vendor, event.eventId);
      if (key !== input.eventId) throw refuse(`the delivery is event ${key}, not ${input.eventId}`);
      const asked = hireRequest(hr.mapping, event);
      if (!asked.ok) throw refuse(`the hire cannot be placed: ${formatProblems(asked.problems)}`);
      return {
        eventId: key,
        username: asked.username,
        request: asked.request,
        mappedWorkspaces: mappedWorkspaces(hr.mapping),
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
