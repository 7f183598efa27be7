import { asyncLocalStorage, type Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { LogEntry, LogLevel } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { createLogger, loggable, runtimeLogSink } from './logger.js';

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

describe('Temporal’s log lines through pino', () => {
  const capture = (level = 'info') => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger(level, { write: (line: string) => void lines.push(JSON.parse(line)) });
    return { log, lines };
  };
  const entry = (level: LogLevel, message: string, meta: Record<string, unknown>): LogEntry => ({
    level,
    message,
    meta,
    timestampNanos: 0n,
  });
  const activityMeta = {
    sdkComponent: 'worker',
    isLocal: false,
    attempt: 3,
    namespace: 'default',
    taskToken: 'c2VjcmV0LXRhc2stdG9rZW4=',
    activityId: '7',
    activityType: 'ensureWorkspace',
    taskQueue: 'ks-onboard',
    workflowId: 'onboard-alice',
    workflowRunId: 'run-1',
    workflowType: 'onboardUser',
  };

  it('an activity’s line carries workflowId, runId, activityType and attempt, never its task token', () => {
    const { log, lines } = capture();
    runtimeLogSink(log)(entry('WARN', 'Activity failed', { ...activityMeta, error: new Error('503') }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      msg: 'Activity failed',
      source: 'temporal',
      workflowId: 'onboard-alice',
      runId: 'run-1',
      activityType: 'ensureWorkspace',
      attempt: 3,
      error: { type: 'Error', message: '503' },
    });
    expect(JSON.stringify(lines)).not.toMatch(/taskToken|c2VjcmV0|workflowRunId/);
  });

  it('the SDK’s own lines from WARN up (all with LOG_LEVEL=debug); our code’s lines at LOG_LEVEL', () => {
    const info = capture('info');
    const sink = runtimeLogSink(info.log);
    sink(entry('INFO', 'Worker state changed', { sdkComponent: 'worker', state: 'RUNNING' }));
    sink(entry('DEBUG', 'Activity completed', { ...activityMeta, sdkComponent: 'worker' }));
    sink(entry('INFO', 'notification sent', { ...activityMeta, sdkComponent: 'activity', status: 200 }));
    sink(entry('WARN', 'core warning', { sdkComponent: 'core', target: 'temporal_sdk_core' }));
    expect(info.lines.map((l) => l.msg)).toEqual(['notification sent', 'core warning']);

    const debug = capture('debug');
    runtimeLogSink(debug.log)(entry('INFO', 'Worker state changed', { sdkComponent: 'worker', state: 'RUNNING' }));
    expect(debug.lines.map((l) => l.msg)).toEqual(['Worker state changed']);
  });

  it('our own lines logged while an activity runs carry its context', () => {
    const { log, lines } = capture();
    const info = {
      activityType: 'audit',
      attempt: 2,
      base64TaskToken: 'c2VjcmV0',
      workflowExecution: { workflowId: 'onboard-bob', runId: 'run-2' },
    };
    asyncLocalStorage.run({ info } as unknown as Context, () => log.error('KubeSphere rejected the login'));
    log.info('outside');
    expect(lines[0]).toMatchObject({ workflowId: 'onboard-bob', runId: 'run-2', activityType: 'audit', attempt: 2 });
    expect(JSON.stringify(lines[0])).not.toContain('c2VjcmV0');
    expect(lines[1]).not.toHaveProperty('workflowId');
  });
});
