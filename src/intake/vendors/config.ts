import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { ConfigError } from '../../config.js';
import type { HrVendor } from '../hire-event.js';
import type { VendorApiConfig } from './api.js';

/**
 * The HR vendors' webhook secrets and API credentials, from the environment the caller passes (src/config.ts
 * owns process.env). A bad value fails naming its variable, and for a list which entry: never the value.
 * Every secret variable is a comma-separated list: during a rotation both keys are accepted.
 */

export interface HrVendorConfig {
  /** per vendor, every secret accepted; empty: that vendor's deliveries cannot be verified */
  secrets: Record<HrVendor, string[]>;
  api: VendorApiConfig;
}

const VARIABLES = [
  'KS_ONBOARD_WEBHOOK_SECRETS',
  'KS_ONBOARD_BAMBOOHR_SECRETS',
  'KS_ONBOARD_HIBOB_SECRETS',
  'KS_ONBOARD_BAMBOOHR_API_URL',
  'KS_ONBOARD_BAMBOOHR_API_KEY',
  'KS_ONBOARD_HIBOB_API_URL',
  'KS_ONBOARD_HIBOB_SERVICE_USER',
] as const;

export const DEFAULT_HIBOB_API_URL = 'https://api.hibob.com';

// What fits a header or a Basic credential as typed: printable ASCII, no spaces (a pasted newline is caught).
const TOKEN = /^[\x21-\x7e]+$/;

/** Standard Webhooks: `whsec_` and the base64 of 24 to 64 bytes, decoded by the package that will use it. */
export function standardWebhooksProblem(secret: string): string | undefined {
  const form = 'is not a Standard Webhooks secret (whsec_ and the base64 of 24 to 64 random bytes)';
  if (!secret.startsWith('whsec_')) return form;
  try {
    new Webhook(secret);
  } catch {
    return form;
  }
  const bytes = Buffer.from(secret.slice('whsec_'.length), 'base64').length;
  return bytes < 24 || bytes > 64 ? form : undefined;
}

function tokenProblem(secret: string): string | undefined {
  return TOKEN.test(secret) ? undefined : 'must be printable ASCII without spaces';
}

const secretList = (problem: (secret: string) => string | undefined) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      const entries = (value ?? '')
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean);
      entries.forEach((entry, index) => {
        const wrong = problem(entry);
        if (wrong) ctx.addIssue({ code: 'custom', message: `entry ${index + 1} of ${entries.length} ${wrong}` });
      });
      return entries;
    });

const apiUrl = z.string().transform((value, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be an http(s) URL without a query, e.g. https://api.example.com/path',
    });
    return z.NEVER;
  }
  if (url.username || url.password) {
    ctx.addIssue({ code: 'custom', message: 'must not carry credentials: they have their own variables' });
    return z.NEVER;
  }
  return url.href.replace(/\/+$/, '');
});

const schema = z
  .object({
    KS_ONBOARD_WEBHOOK_SECRETS: secretList(standardWebhooksProblem),
    KS_ONBOARD_BAMBOOHR_SECRETS: secretList(tokenProblem),
    KS_ONBOARD_HIBOB_SECRETS: secretList(tokenProblem),
    KS_ONBOARD_BAMBOOHR_API_URL: apiUrl.optional(),
    // The user name of a Basic credential cannot hold ":".
    KS_ONBOARD_BAMBOOHR_API_KEY: z
      .string()
      .regex(/^[\x21-\x39\x3b-\x7e]+$/, 'must be printable ASCII without spaces or ":"')
      .optional(),
    KS_ONBOARD_HIBOB_API_URL: apiUrl.default(DEFAULT_HIBOB_API_URL),
    KS_ONBOARD_HIBOB_SERVICE_USER: z
      .string()
      .transform((value, ctx) => {
        const colon = value.indexOf(':');
        const id = value.slice(0, colon);
        const token = value.slice(colon + 1);
        if (colon < 1 || !TOKEN.test(id) || !TOKEN.test(token)) {
          ctx.addIssue({ code: 'custom', message: 'must be <service user id>:<token> (printable ASCII, no spaces)' });
          return z.NEVER;
        }
        return { id, token };
      })
      .optional(),
  })
  .superRefine((env, ctx) => {
    const url = env.KS_ONBOARD_BAMBOOHR_API_URL !== undefined;
    const key = env.KS_ONBOARD_BAMBOOHR_API_KEY !== undefined;
    if (url !== key) {
      ctx.addIssue({
        code: 'custom',
        path: [url ? 'KS_ONBOARD_BAMBOOHR_API_KEY' : 'KS_ONBOARD_BAMBOOHR_API_URL'],
        message: 'set KS_ONBOARD_BAMBOOHR_API_URL and KS_ONBOARD_BAMBOOHR_API_KEY together',
      });
    }
  });

export function hrVendorConfig(env: NodeJS.ProcessEnv): HrVendorConfig {
  // An empty variable is an unset one (a template's `FOO=` line).
  const input = Object.fromEntries(
    VARIABLES.map((name) => [name, env[name]?.trim() ? env[name]!.trim() : undefined] as const),
  );
  const result = schema.safeParse(input);
  if (!result.success) {
    // Every message is written above, and none quotes the value.
    const problems = result.error.issues.map((issue) => `${String(issue.path[0] ?? 'environment')}: ${issue.message}`);
    throw new ConfigError(`bad configuration: ${problems.join('; ')}`);
  }
  const parsed = result.data;
  const api: VendorApiConfig = {};
  if (parsed.KS_ONBOARD_BAMBOOHR_API_URL && parsed.KS_ONBOARD_BAMBOOHR_API_KEY) {
    api.bamboohr = { baseUrl: parsed.KS_ONBOARD_BAMBOOHR_API_URL, apiKey: parsed.KS_ONBOARD_BAMBOOHR_API_KEY };
  }
  if (parsed.KS_ONBOARD_HIBOB_SERVICE_USER) {
    const { id, token } = parsed.KS_ONBOARD_HIBOB_SERVICE_USER;
    api.hibob = { baseUrl: parsed.KS_ONBOARD_HIBOB_API_URL, serviceUserId: id, token };
  }
  return {
    secrets: {
      generic: parsed.KS_ONBOARD_WEBHOOK_SECRETS,
      bamboohr: parsed.KS_ONBOARD_BAMBOOHR_SECRETS,
      hibob: parsed.KS_ONBOARD_HIBOB_SECRETS,
    },
    api,
  };
}
