import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { quietLogger } from '../../test/helpers/quiet-logger.js';
import { onlyForOurWorkflows } from './worker.js';

const activities = onlyForOurWorkflows({ setGlobalRole: async () => 'written' });

describe('activities run only for our workflows', () => {
  it('runs for changeRole', async () => {
    const env = new MockActivityEnvironment({ inWorkflow: true, workflowType: 'changeRole' }, { logger: quietLogger });
    await expect(env.run(activities.setGlobalRole)).resolves.toBe('written');
  });

  it.each([
    [{ inWorkflow: false, workflowType: undefined }, /not for a standalone activity/],
    [{ inWorkflow: true, workflowType: 'grantMeAdmin' }, /not for workflow type grantMeAdmin/],
  ])('refuses %o', async (info, message) => {
    const env = new MockActivityEnvironment(info, { logger: quietLogger });
    const error = await env.run(activities.setGlobalRole).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).type).toBe('PolicyViolation');
    expect((error as ApplicationFailure).message).toMatch(message);
  });
});
