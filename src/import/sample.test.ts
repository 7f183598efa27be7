import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ROLES } from '../policy/roles.js';
import { DEFAULT_ELEVATED_ROLES, isElevated } from '../policy/worker-policy.js';
import { checkImportFile } from './check.js';
import { readPeople, type ImportPerson } from './people.js';

const SAMPLE = fileURLToPath(new URL('../../samples/onboarding.csv', import.meta.url));

describe('samples/onboarding.csv', () => {
  it('is a valid migration of three teams with exactly one grant that waits for an approval', async () => {
    const check = await checkImportFile(SAMPLE);
    expect(check.problems).toEqual([]);
    expect(check.rows).toBeGreaterThanOrEqual(20);
    expect(check.rows).toBeLessThanOrEqual(30);
    expect(check.workspaces.length).toBeGreaterThanOrEqual(3);
    expect(check.workspaces).not.toContain('system-workspace');

    const people: ImportPerson[] = [];
    for await (const person of readPeople(SAMPLE, check, { seal: (p) => `ks-sealed:test:${p.length}` }))
      people.push(person);
    expect(people.filter((p) => p.sealedPassword === undefined)).toHaveLength(1);
    expect(people.filter((p) => p.placements.filter((pl) => pl.project).length === 2)).toHaveLength(1);

    const policy = { elevatedRoles: [...DEFAULT_ELEVATED_ROLES] };
    const elevated = people.flatMap((person) => [
      ...(isElevated(policy, 'platform', person.globalRole ?? DEFAULT_ROLES.platform) ? [person.lines[0]] : []),
      ...person.placements.flatMap((p) => [
        ...(isElevated(policy, 'workspace', p.workspaceRole ?? DEFAULT_ROLES.workspace) ? [p.line] : []),
        ...(p.project && isElevated(policy, 'project', p.projectRole ?? DEFAULT_ROLES.project) ? [p.line] : []),
      ]),
    ]);
    expect(elevated).toHaveLength(1);
  });
});
