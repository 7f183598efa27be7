import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEFAULT_LEAD_TIME_MS, type HrConfig } from './config.js';
import { loadPlacementMapping } from './placement-file.js';
import type { PlacementMapping } from './placement.js';

/** The sample mapping the dev stack places hires with (the same workspaces as samples/onboarding.csv). */
export const SAMPLE_PLACEMENT = fileURLToPath(new URL('../../samples/placement.yaml', import.meta.url));

const devSecretsSchema = z.object({ webhookSecret: z.string().startsWith('whsec_'), intakeToken: z.string().min(24) });
export type DevHrSecrets = z.infer<typeof devSecretsSchema>;

/** A local webhook secret and status token, made once per data directory (like the dev sealing keys). */
export function ensureDevHrSecrets(dataDir: string): DevHrSecrets {
  const file = join(dataDir, 'keys', 'dev-hr-secrets.json');
  if (existsSync(file)) {
    try {
      const parsed = devSecretsSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (parsed.success) return parsed.data;
    } catch {
      // unreadable: made anew below (dev secrets only)
    }
  }
  const secrets = {
    webhookSecret: `whsec_${randomBytes(32).toString('base64')}`,
    intakeToken: randomBytes(24).toString('hex'),
  };
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

/** The dev stack's HR settings: the environment's when it sets a mapping, else the local secret and the sample mapping. */
export function devHrConfig(
  configured: HrConfig | undefined,
  secrets: DevHrSecrets,
): HrConfig & { mapping: PlacementMapping } {
  if (configured?.mapping) return configured as HrConfig & { mapping: PlacementMapping };
  return {
    vendors: {
      secrets: { generic: [secrets.webhookSecret], bamboohr: [], hibob: [] },
      api: configured?.vendors.api ?? {},
    },
    mapping: loadPlacementMapping(SAMPLE_PLACEMENT, 'the sample mapping'),
    mappingFile: SAMPLE_PLACEMENT,
    timeZone: configured?.timeZone ?? 'UTC',
    leadTimeMs: configured?.leadTimeMs ?? DEFAULT_LEAD_TIME_MS,
  };
}
