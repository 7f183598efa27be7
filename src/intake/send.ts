import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { GENERIC_HIRE_TYPE } from './vendors/generic.js';

export interface HireToSend {
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  department: string;
  team?: string;
  /** YYYY-MM-DD; default today (UTC) */
  startDate?: string;
  employeeId?: string;
  /** the same id twice is one hire; default a new one */
  eventId?: string;
}

/**
 * Delivers a new hire as a Standard Webhooks sender does (`ks-onboard hire`, the demo): the body signed with
 * `id.timestamp.body`, the three webhook headers. A reference for wiring an HR system without a vendor adapter.
 */
export async function sendHire(
  intakeUrl: string,
  secret: string,
  hire: HireToSend,
): Promise<{ status: number; answer: Record<string, unknown> }> {
  const body = JSON.stringify({
    type: GENERIC_HIRE_TYPE,
    timestamp: new Date().toISOString(),
    data: {
      eventId: hire.eventId ?? randomUUID(),
      employeeId: hire.employeeId ?? hire.username,
      username: hire.username,
      email: hire.email,
      firstName: hire.firstName,
      lastName: hire.lastName,
      department: hire.department,
      ...(hire.team ? { team: hire.team } : {}),
      startDate: hire.startDate ?? new Date().toISOString().slice(0, 10),
    },
  });
  const id = `msg_${randomUUID()}`;
  const sentAt = new Date();
  const response = await fetch(`${intakeUrl.replace(/\/$/, '')}/v1/hr/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, sentAt, body),
    },
    body,
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, answer: (await response.json().catch(() => ({}))) as Record<string, unknown> };
}

/** One line for a person: where the hire went, or why not. */
export function describeAnswer(answer: Record<string, unknown>): string {
  if (typeof answer.error === 'string') return answer.error;
  if (answer.ignored) return `ignored (${String(answer.type)})`;
  const parts = [String(answer.workflowId ?? '')];
  if (answer.duplicate) parts.push('(a duplicate: nothing started)');
  if (answer.lifecycle) parts.push(String(answer.lifecycle));
  if (answer.scheduledFor) parts.push(`provisioned at ${String(answer.scheduledFor)}`);
  if (Array.isArray(answer.awaitingApproval)) parts.push(`awaiting approval of ${answer.awaitingApproval.join(', ')}`);
  return parts.join(' ');
}
