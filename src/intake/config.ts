import { z } from 'zod';
import { ConfigError } from '../config.js';
import { parseDuration } from '../policy/duration.js';
import type { PlacementMapping } from './placement.js';
import { loadPlacementMapping } from './placement-file.js';
import { isTimeZone } from './start-date.js';
import { hrVendorConfig, type HrVendorConfig } from './vendors/config.js';

/**
 * The HR settings the worker (which decides) and the intake (which answers fast) share: the vendors' secrets and
 * API credentials, the placement mapping, and when a hire is provisioned. Both read the same variables.
 */
export interface HrConfig {
  vendors: HrVendorConfig;
  mapping?: PlacementMapping;
  /** where the mapping came from, for messages */
  mappingFile?: string;
  /** the zone start dates are in (IANA name) */
  timeZone: string;
  /** how long before the start date's first moment a hire is provisioned */
  leadTimeMs: number;
}

const LEAD_TIME_BOUNDS = { minMs: 0, maxMs: 60 * 86_400_000 };
export const DEFAULT_LEAD_TIME = '2d';
export const DEFAULT_LEAD_TIME_MS = 2 * 86_400_000;

const hrSchema = z.object({
  KS_ONBOARD_PLACEMENT: z.string().min(1, 'must name the mapping file (or be unset)').optional(),
  KS_ONBOARD_HR_TIME_ZONE: z
    .string()
    .default('UTC')
    .refine(isTimeZone, {
      error: (issue) => `${JSON.stringify(issue.input)} is not a time zone this runtime knows (e.g. Europe/Berlin)`,
    }),
  KS_ONBOARD_HR_LEAD_TIME: z
    .string()
    .default(DEFAULT_LEAD_TIME)
    .transform((value, ctx) => {
      const parsed = parseDuration(value, LEAD_TIME_BOUNDS);
      if (!parsed.ok) {
        ctx.addIssue({ code: 'custom', message: parsed.reason });
        return z.NEVER;
      }
      return parsed.ms;
    }),
});

/** The HR settings; undefined when none is set (this deployment takes no HR deliveries). */
export function parseHrConfig(env: NodeJS.ProcessEnv): HrConfig | undefined {
  const vendors = hrVendorConfig(env);
  const parsed = hrSchema.safeParse(env);
  if (!parsed.success)
    throw new ConfigError(
      `bad configuration: ${parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; ')}`,
    );
  const {
    KS_ONBOARD_PLACEMENT: file,
    KS_ONBOARD_HR_TIME_ZONE: timeZone,
    KS_ONBOARD_HR_LEAD_TIME: leadTimeMs,
  } = parsed.data;
  const anySecret = Object.values(vendors.secrets).some((secrets) => secrets.length > 0);
  if (!anySecret && !file) return undefined;
  // A worker with secrets but no mapping would refuse every hire (with a 4xx vendors do not retry): refused now.
  if (!file)
    throw new ConfigError(
      'KS_ONBOARD_PLACEMENT: webhook secrets are set, so the placement mapping file is needed too (see samples/placement.yaml)',
    );
  // Bob's webhooks name only the employee: without API credentials no HiBob hire could ever be read.
  if (vendors.secrets.hibob.length && !vendors.api.hibob)
    throw new ConfigError(
      'KS_ONBOARD_HIBOB_SERVICE_USER: HiBob secrets are set, but HiBob webhooks name only the employee: the worker needs a service user to read the record',
    );
  return {
    vendors,
    ...(file ? { mapping: loadPlacementMapping(file), mappingFile: file } : {}),
    timeZone,
    leadTimeMs,
  };
}

const intakeSchema = z.object({
  KS_ONBOARD_INTAKE_PORT: z.coerce
    .number({ error: 'must be a port number' })
    .int('must be a port number')
    .min(0, 'must be a port number (0 to 65535)')
    .max(65535, 'must be a port number (0 to 65535)')
    .default(8787),
  /** 127.0.0.1 by default: put it behind your ingress, or set 0.0.0.0 to take deliveries directly */
  KS_ONBOARD_INTAKE_HOST: z
    .string()
    .regex(
      /^(?:[0-9.]+|\[?[0-9A-Fa-f:]+\]?|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)$/,
      'must be an address or host name, e.g. 0.0.0.0',
    )
    .default('127.0.0.1'),
  /** the bearer token of GET /v1/onboardings/<id>; without it that endpoint answers 401 to everyone */
  KS_ONBOARD_INTAKE_TOKEN: z.string().min(24, 'must be at least 24 characters (e.g. openssl rand -hex 24)').optional(),
  /** how the intake's status URLs start, as HR systems and operators reach it */
  KS_ONBOARD_INTAKE_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
});

export interface IntakeConfig {
  port: number;
  host: string;
  token?: string;
  publicUrl?: string;
  hr: HrConfig & { mapping: PlacementMapping };
}

/** The intake service's settings: it needs the HR settings, with a mapping (an unknown department gets a 422). */
export function parseIntakeConfig(env: NodeJS.ProcessEnv): IntakeConfig {
  const parsed = intakeSchema.safeParse(env);
  if (!parsed.success)
    throw new ConfigError(
      `bad configuration: ${parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; ')}`,
    );
  const hr = parseHrConfig(env);
  if (!hr?.mapping)
    throw new ConfigError(
      'KS_ONBOARD_PLACEMENT: the HR intake needs a placement mapping file (see samples/placement.yaml)',
    );
  if (!Object.values(hr.vendors.secrets).some((secrets) => secrets.length > 0))
    throw new ConfigError(
      'KS_ONBOARD_WEBHOOK_SECRETS: the HR intake needs at least one webhook secret (or KS_ONBOARD_BAMBOOHR_SECRETS / KS_ONBOARD_HIBOB_SECRETS)',
    );
  const { KS_ONBOARD_INTAKE_PORT: port, KS_ONBOARD_INTAKE_HOST: host, KS_ONBOARD_INTAKE_TOKEN: token } = parsed.data;
  return {
    port,
    host,
    ...(token ? { token } : {}),
    ...(parsed.data.KS_ONBOARD_INTAKE_PUBLIC_URL
      ? { publicUrl: parsed.data.KS_ONBOARD_INTAKE_PUBLIC_URL.replace(/\/$/, '') }
      : {}),
    hr: hr as HrConfig & { mapping: PlacementMapping },
  };
}
