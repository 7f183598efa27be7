import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { loggable } from './logger.js';

describe('Temporal log metadata', () => {
  it('keeps an error’s type, message and causes, and drops task tokens', () => {
    const cause = ApplicationFailure.create({ type: 'KS_UNAVAILABLE', message: 'KubeSphere answered HTTP 503' });
    const error = new Error('activity failed', { cause });
    const line = JSON.stringify(loggable({ error, taskToken: 'c2VjcmV0', activityType: 'ensureUser' }));
    expect(JSON.parse(line)).toEqual({
      error: {
        type: 'Error',
        message: 'activity failed',
        cause: { type: 'KS_UNAVAILABLE', message: 'KubeSphere answered HTTP 503' },
      },
      activityType: 'ensureUser',
    });
    expect(line).not.toContain('c2VjcmV0');
  });
});
