import { existsSync } from 'node:fs';
import { ConfigError } from '../config.js';

/** Where the bundle with the tracing interceptors lies, beside the one at `path`: `x.js` → `x.traced.js`. */
export function tracedBundlePath(path: string): string {
  return path.endsWith('.js') ? `${path.slice(0, -3)}.traced.js` : `${path}.traced.js`;
}

/** The prebuilt bundle a worker loads: with tracing on, the one beside KS_ONBOARD_WORKFLOW_BUNDLE that traces. */
export function pickBundle(path: string, tracing: boolean): string {
  if (!tracing) return path;
  const traced = tracedBundlePath(path);
  if (!existsSync(traced))
    throw new ConfigError(
      `tracing is on, but ${traced} (the workflow bundle with the tracing interceptors, beside KS_ONBOARD_WORKFLOW_BUNDLE) is missing: ks-onboard bundle --out ${path} writes both`,
    );
  return traced;
}
