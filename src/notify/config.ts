import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../config.js';
import { isLoopbackHost } from '../codec/codec-config.js';
import { parseDuration, type DurationBounds } from '../policy/duration.js';
import { NOTIFY_EVENT_TYPES, type NotifyEventType } from './events.js';
import { standardWebhooksProblem } from '../intake/vendors/config.js';

/**
 * The worker's outbound notifications, from the environment the caller passes (src/config.ts owns process.env).
 * No URL: notifications are off. A bad value fails at start naming its variable; no message quotes the URL
 * (a chat's incoming-webhook URL is itself a credential) or the secret.
 */
export interface NotifyConfig {
  /** where events are POSTed; secret-like: log its origin only */
  url: string;
  /** Standard Webhooks signing secret (`whsec_…`) */
  secret: string;
  /** the event types sent; the others are skipped without a request */
  events: NotifyEventType[];
  /** how long before an approval's deadline `approval.expiring` goes out */
  expiryWarningMs: number;
  /** the Temporal Web UI's address, for a link to the run (set by src/config.ts from TEMPORAL_UI_URL) */
  webUiUrl?: string;
}

export const DEFAULT_EXPIRY_WARNING = '12h';
export const EXPIRY_WARNING_BOUNDS: DurationBounds = { minMs: 60_000, maxMs: 7 * 86_400_000 };

const VARIABLES = [
  'KS_ONBOARD_NOTIFY_URL',
  'KS_ONBOARD_NOTIFY_ALLOW_HTTP',
  'KS_ONBOARD_NOTIFY_SECRET',
  'KS_ONBOARD_NOTIFY_SECRET_FILE',
  'KS_ONBOARD_NOTIFY_EVENTS',
  'KS_ONBOARD_NOTIFY_EXPIRY_WARNING',
] as const;

const flag = z
  .enum(['1', '0', 'true', 'false'], { error: 'must be 1 or 0 (true or false)' })
  .optional()
  .transform((value) => value === '1' || value === 'true');

const url = z.string().transform((value, ctx) => {
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    parsed = undefined;
  }
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:'))
    return fail('must be an https URL, e.g. https://chat.example.com/hooks/ks-onboard');
  if (parsed.username || parsed.password)
    return fail('must not carry credentials: the receiver verifies the signature (KS_ONBOARD_NOTIFY_SECRET)');
  if (parsed.hash) return fail('must not have a #fragment');
  return parsed;
});

const events = z.string().transform((value, ctx) => {
  const names = [
    ...new Set(
      value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    ),
  ];
  const unknown = names.filter((item) => !(NOTIFY_EVENT_TYPES as readonly string[]).includes(item));
  if (unknown.length || !names.length) {
    ctx.addIssue({
      code: 'custom',
      message: `${unknown.length ? `unknown event ${unknown.map((item) => JSON.stringify(item.slice(0, 40))).join(', ')}: ` : ''}a comma-separated list of ${NOTIFY_EVENT_TYPES.join(', ')}`,
    });
    return z.NEVER;
  }
  return names as NotifyEventType[];
});

const expiryWarning = z
  .string()
  .default(DEFAULT_EXPIRY_WARNING)
  .transform((value, ctx) => {
    const parsed = parseDuration(value, EXPIRY_WARNING_BOUNDS);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.reason });
      return z.NEVER;
    }
    return parsed.ms;
  });

const schema = z.object({
  KS_ONBOARD_NOTIFY_URL: url.optional(),
  KS_ONBOARD_NOTIFY_ALLOW_HTTP: flag,
  KS_ONBOARD_NOTIFY_SECRET: z.string().optional(),
  KS_ONBOARD_NOTIFY_SECRET_FILE: z.string().optional(),
  KS_ONBOARD_NOTIFY_EVENTS: events.optional(),
  KS_ONBOARD_NOTIFY_EXPIRY_WARNING: expiryWarning,
});

/** The notification settings; undefined when KS_ONBOARD_NOTIFY_URL is unset (notifications off). */
export function parseNotifyConfig(env: NodeJS.ProcessEnv): NotifyConfig | undefined {
  // An empty variable is an unset one (a template's `FOO=` line).
  const input = Object.fromEntries(
    VARIABLES.map((name) => [name, env[name]?.trim() ? env[name]!.trim() : undefined] as const),
  );
  const result = schema.safeParse(input);
  if (!result.success) {
    // Every message is written above, and none quotes a URL or a secret.
    const problems = result.error.issues.map((issue) => `${String(issue.path[0] ?? 'environment')}: ${issue.message}`);
    throw new ConfigError(`bad configuration: ${problems.join('; ')}`);
  }
  const parsed = result.data;
  const secret = readSecret(parsed.KS_ONBOARD_NOTIFY_SECRET, parsed.KS_ONBOARD_NOTIFY_SECRET_FILE);
  const target = parsed.KS_ONBOARD_NOTIFY_URL;
  if (!target) {
    // A secret says someone meant to be notified: silence would hide the missing URL until an approval expires.
    if (secret !== undefined)
      throw new ConfigError(
        'bad configuration: KS_ONBOARD_NOTIFY_URL: a notification secret is set but no URL: set the URL (or unset the secret)',
      );
    return undefined;
  }
  if (target.protocol === 'http:' && !isLoopbackHost(target.hostname) && !parsed.KS_ONBOARD_NOTIFY_ALLOW_HTTP)
    throw new ConfigError(
      'bad configuration: KS_ONBOARD_NOTIFY_URL: must be https (http only to localhost, or with KS_ONBOARD_NOTIFY_ALLOW_HTTP=1 inside a trusted network)',
    );
  if (secret === undefined)
    throw new ConfigError(
      'bad configuration: KS_ONBOARD_NOTIFY_SECRET: notifications are signed: set a Standard Webhooks secret (whsec_…) or KS_ONBOARD_NOTIFY_SECRET_FILE',
    );
  return {
    url: target.href,
    secret,
    events: parsed.KS_ONBOARD_NOTIFY_EVENTS ?? [...NOTIFY_EVENT_TYPES],
    expiryWarningMs: parsed.KS_ONBOARD_NOTIFY_EXPIRY_WARNING,
  };
}

function readSecret(value: string | undefined, file: string | undefined): string | undefined {
  if (value !== undefined && file !== undefined)
    throw new ConfigError(
      'bad configuration: KS_ONBOARD_NOTIFY_SECRET_FILE: set KS_ONBOARD_NOTIFY_SECRET or KS_ONBOARD_NOTIFY_SECRET_FILE, not both',
    );
  const variable = file !== undefined ? 'KS_ONBOARD_NOTIFY_SECRET_FILE' : 'KS_ONBOARD_NOTIFY_SECRET';
  let secret = value;
  if (file !== undefined) {
    try {
      secret = readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new ConfigError(
        `bad configuration: KS_ONBOARD_NOTIFY_SECRET_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  if (secret === undefined) return undefined;
  const problem = standardWebhooksProblem(secret);
  if (problem) throw new ConfigError(`bad configuration: ${variable}: ${problem}`);
  return secret;
}
