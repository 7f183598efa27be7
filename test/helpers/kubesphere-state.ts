import { peopleHoldings } from '../../src/emulator/holdings.js';
import type { BatchPerson } from '../../src/policy/batch.js';
import type { EmulatorHarness } from './emulator.js';

/** What KubeSphere holds for people other than the seeded accounts (peopleHoldings' lines). */
export function peopleState(h: EmulatorHarness, seeded = ['admin', 'ops-admin', 'carol']): string[] {
  return peopleHoldings(h.emulator.snapshot(), seeded);
}

/** What KubeSphere must hold after these people are onboarded (host cluster, default roles), in peopleState's form. */
export function expectedPeopleState(people: BatchPerson[]): string[] {
  const lines = new Set<string>();
  for (const p of people) {
    lines.add(`user ${p.username} ${p.email} platform-regular`);
    for (const pl of p.placements) {
      lines.add(`workspace ${pl.workspace}`);
      lines.add(`member ${pl.workspace} ${p.username} ${pl.workspace}-${pl.workspaceRole ?? 'regular'}`);
      if (pl.project) {
        lines.add(`project host/${pl.project} in ${pl.workspace}`);
        lines.add(`member host/${pl.project} ${p.username} ${pl.projectRole ?? 'viewer'}`);
      }
    }
  }
  return [...lines].sort();
}
