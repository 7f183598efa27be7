import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { onlyForOurWorkflows } from './worker.js';

const quiet = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
const activities = onlyForOurWorkflows({ setGlobalRole: async () => 'written' });

describe('activities run only for our workflows', () => {
  it('runs for changeRole', async () => {
    const env = new MockActivityEnvironment({ inWorkflow: true, workflowType: 'changeRole' }, { logger: quiet });
    await expect(env.run(activities.setGlobalRole)).resolves.toBe('written');
  });

  it.each([
    [{ inWorkflow: false, workflowType: undefined }, /not for a standalone activity/],
    [{ inWorkflow: true, workflowType: 'grantMeAdmin' }, /not for workflow type grantMeAdmin/],
  ])('refuses %o', async (info, message) => {
    const env = new MockActivityEnvironment(info, { logger: quiet });
    const error = await env.run(activities.setGlobalRole).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).type).toBe('PolicyViolation');
    expect((error as ApplicationFailure).message).toMatch(message);
  });
});
