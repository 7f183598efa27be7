import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * deploy/temporal.env: the Temporal server's settings in the variables the temporalio/server image reads
 * (docker-compose.yml passes them to it), and from which `stack prod-local` renders the same configuration here.
 */
export const TEMPORAL_ENV_FILE = fileURLToPath(new URL('../../deploy/temporal.env', import.meta.url));

/** A PostgreSQL identifier we create and name in SQL without quoting. */
const identifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case PostgreSQL name (letters, digits, _; at most 63)');

const temporalEnvSchema = z.object({
  DB: z.enum(['postgres12', 'postgres12_pgx'], {
    error: 'stack prod-local runs PostgreSQL: DB must be postgres12 or postgres12_pgx',
  }),
  DB_PORT: z.coerce.number().int().min(1).max(65535).default(5432),
  POSTGRES_SEEDS: z.string().min(1),
  POSTGRES_USER: identifier,
  DBNAME: identifier.default('temporal'),
  VISIBILITY_DBNAME: identifier.default('temporal_visibility'),
  NUM_HISTORY_SHARDS: z.coerce.number().int().positive().default(4),
  BIND_ON_IP: z.string().min(1).default('127.0.0.1'),
  DEFAULT_NAMESPACE: z.string().min(1).default('default'),
  /**
   * how long closed runs are kept when the namespace is created (`temporal operator namespace create --retention`;
   * deploy/temporal/setup-namespace.sh reads the same variable, with the same default)
   */
  NAMESPACE_RETENTION: z
    .string()
    .regex(/^\d+[hd]$/, 'must look like 168h or 7d')
    .default('168h'),
});
export type TemporalEnv = z.infer<typeof temporalEnvSchema>;

/** `KEY=value` lines; `#` comments and blank lines skipped; optional quotes around the value removed. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    // the line itself is never quoted: an env file may hold a password
    if (!match) throw new Error(`line ${index + 1}: not KEY=value (a comment starts with #)`);
    out[match[1]!] = match[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

/** The shared settings, checked: a value the local stack cannot use fails naming the variable and the file. */
export function readTemporalEnv(file = TEMPORAL_ENV_FILE): TemporalEnv {
  let vars: Record<string, string>;
  try {
    vars = parseEnvFile(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
  const parsed = temporalEnvSchema.safeParse(vars);
  if (!parsed.success)
    throw new Error(
      `${file}: ${parsed.error.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`).join('; ')}`,
    );
  return parsed.data;
}

/** For flags that override a name from the file (tests use their own role and databases). */
export function checkIdentifier(value: string): string {
  const parsed = identifier.safeParse(value);
  if (!parsed.success) throw new Error(parsed.error.issues[0]!.message);
  return parsed.data;
}
