import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { credentialsOf } from './run-worker.js';

describe('credentialsOf', () => {
  it('reads a password file at each login, so a fixed password is picked up without a restart', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ks-pw-')), 'password');
    writeFileSync(file, 'Wrong-Passw0rd\n');
    const credentials = credentialsOf({ username: 'w', passwordFile: file, clientId: 'c', clientSecret: 's' });
    expect(typeof credentials).toBe('function');
    const read = credentials as () => Promise<{ password: string }>;
    expect((await read()).password).toBe('Wrong-Passw0rd');
    writeFileSync(file, 'Right-Passw0rd\n');
    expect((await read()).password).toBe('Right-Passw0rd');
  });
});
