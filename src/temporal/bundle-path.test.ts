import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pickBundle, tracedBundlePath } from './bundle-path.js';

describe('the prebuilt bundle a worker loads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ks-bundle-path-'));
  const plain = join(dir, 'workflow-bundle.js');
  writeFileSync(plain, '');

  it('is the plain one without tracing, the traced one beside it with tracing', () => {
    expect(tracedBundlePath(plain)).toBe(join(dir, 'workflow-bundle.traced.js'));
    expect(pickBundle(plain, false)).toBe(plain);
    writeFileSync(tracedBundlePath(plain), '');
    expect(pickBundle(plain, true)).toBe(join(dir, 'workflow-bundle.traced.js'));
  });

  it('refuses to start traced from a bundle that has no traced sibling, naming the file and the fix', () => {
    const lone = join(dir, 'lone.js');
    writeFileSync(lone, '');
    expect(() => pickBundle(lone, true)).toThrow(
      /lone\.traced\.js .* is missing: ks-onboard bundle --out .*lone\.js writes both/,
    );
  });
});
