import { describe, expect, it } from 'vitest';
import type { OnboardingState } from '../workflows/definitions.js';
import { formatState } from './output.js';

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
