import { describe, expect, it } from 'vitest';
import type { OnboardingState } from '../workflows/definitions.js';
import { duration, formatRetry, formatState } from './output.js';

const grants = [
  { scope: 'workspace' as const, role: 'admin', target: 'team-a', workspace: 'team-a', why: 'elevated role' as const },
];
const state = (approval: OnboardingState['approval'], lifecycle: OnboardingState['lifecycle']): OnboardingState => ({
  lifecycle,
  username: 'bob',
  requestedBy: 'ops-admin',
  steps: [],
  approval,
});

describe('formatState', () => {
  it('says waiting until the deadline while it waits, and expired once it passed', () => {
    const deadline = '2026-12-02T10:00:00.000Z';
    expect(formatState('onboard-bob', state({ grants, deadline }, 'awaiting-approval'))).toContain(
      `approval: waiting for workspace:admin on team-a until ${deadline}`,
    );
    const expired = formatState('onboard-bob', state({ grants, deadline, expired: true }, 'failed'));
    expect(expired).toContain(`approval: expired at ${deadline} without a decision`);
    expect(expired).not.toContain('waiting');
  });

  it('names the verified decider and requester, with control characters in a reason escaped', () => {
    const decision = { approve: false, by: 'boss', reason: 'no\x1b[2J', at: '2026-12-01T00:00:00.000Z' };
    const text = formatState('onboard-bob', state({ grants, deadline: 'x', decision }, 'failed'));
    expect(text).toContain('approval: rejected by boss (no\\x1b[2J) for workspace:admin on team-a');
    expect(text).toContain('requested by: ops-admin');
  });
});

describe('a step being retried', () => {
  const now = Date.parse('2026-12-01T00:11:55.000Z');
  const retrying = (retry: OnboardingState['steps'][number]['retry']): OnboardingState => ({
    lifecycle: 'running',
    username: 'alice',
    steps: [
      {
        step: 'user',
        target: 'alice',
        outcome: 'pending',
        requestedRole: 'platform-regular',
        ...(retry ? { retry } : {}),
      },
      { step: 'workspace', target: 'team-a', outcome: 'pending' },
    ],
  });

  it('shows attempts, last error, next try and give-up time under its step, the same line whoever reported it', () => {
    const retry = {
      attempts: 17,
      lastError: 'KS_UNAVAILABLE: HTTP 500\nInternal error\x1b[2J',
      nextAttemptAt: '2026-12-01T00:12:03.000Z',
      givesUpAt: '2026-12-01T00:18:07.000Z',
    };
    const lines = formatState('onboard-alice', retrying(retry), now).split('\n');
    const at = lines.findIndex((l) => l.startsWith('  user '));
    expect(lines[at + 1]).toBe(
      '    attempt 17, last error: KS_UNAVAILABLE: HTTP 500 Internal error\\x1b[2J, next try in 8s (00:12:03Z), gives up in 6m12s (00:18:07Z)',
    );
    expect(lines[at + 2]).toMatch(/^ {2}workspace /);
    expect(formatRetry(retry, now)).toBe(lines[at + 1]!.trim());
  });

  it('says "trying now" while an attempt runs, and "now" for a time already passed', () => {
    const text = formatRetry({ attempts: 3, lastError: 'x', givesUpAt: '2026-12-01T00:11:00.000Z' }, now);
    expect(text).toBe('attempt 3, last error: x, trying now, gives up now (00:11:00Z)');
  });

  it('shortens a long error to one line', () => {
    const text = formatRetry({ attempts: 2, lastError: 'e'.repeat(500), givesUpAt: '2026-12-01T01:00:00.000Z' }, now);
    expect(text).toMatch(/last error: e{159}…, trying now, gives up in 48m05s/);
  });

  it('writes durations compactly', () => {
    expect([999, 8_000, 372_000, 3_900_000, 3 * 86_400_000].map(duration)).toEqual([
      '0s',
      '8s',
      '6m12s',
      '1h05m',
      '3d0h',
    ]);
  });
});
