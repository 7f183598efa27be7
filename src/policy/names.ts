/**
 * Name rules checked before any call, so a bad row fails with "which field and why" instead of a
 * KubeSphere 4xx halfway through an onboarding. They are the console's rules (stricter than the server's)
 * so that everything we create can also be managed in the console.
 */

export interface Problem {
  field: string;
  message: string;
}

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PROJECT = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const EMAIL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

/** `<ws>-self-provisioner` must stay within 63 characters, or KubeSphere renames the workspace's roles. */
export const MAX_WORKSPACE_NAME = 63 - '-self-provisioner'.length;
export const MAX_USERNAME = 32;

/**
 * Control characters (C0, DEL, C1), line/paragraph separators and bidi overrides: shown escaped, so that a
 * rejected value can neither move the cursor, recolour a terminal nor split a log line.
 */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const SHORT_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with every unprintable character escaped (`\n`, `\t`, `\x1b`, `\u202e`); the rest untouched. */
export function escapeControl(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return (
      SHORT_ESCAPES[c] ??
      (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`)
    );
  });
}

/** A rejected value, double-quoted as it must be typed: `"`, `\` and unprintable characters escaped. */
export function quote(value: string): string {
  return `"${escapeControl(value.replace(/["\\]/g, (c) => `\\${c}`))}"`;
}

export function checkUsername(value: string, field = 'username'): Problem[] {
  if (value === '') return [{ field, message: 'is required' }];
  if (value.length > MAX_USERNAME)
    return [{ field, message: `must be at most ${MAX_USERNAME} characters (got ${value.length})` }];
  if (!SUBDOMAIN.test(value)) {
    return [
      {
        field,
        message: `${quote(value)} must be lower-case letters, digits, "-" or ".", starting and ending with a letter or digit`,
      },
    ];
  }
  return [];
}

export function checkEmail(value: string, field = 'email'): Problem[] {
  if (value === '') return [{ field, message: 'is required' }];
  if (value.length > 254 || !EMAIL.test(value))
    return [{ field, message: `${quote(value)} is not a valid email address` }];
  return [];
}

export function checkWorkspaceName(value: string, field = 'workspace'): Problem[] {
  if (value.length > MAX_WORKSPACE_NAME) {
    return [
      {
        field,
        message: `must be at most ${MAX_WORKSPACE_NAME} characters (got ${value.length}), so that its built-in role names fit in 63`,
      },
    ];
  }
  if (!LABEL.test(value)) {
    return [
      {
        field,
        message: `${quote(value)} must be lower-case letters, digits or "-", starting and ending with a letter or digit`,
      },
    ];
  }
  return [];
}

export function checkProjectName(value: string, field = 'project'): Problem[] {
  if (value.length > 63) return [{ field, message: `must be at most 63 characters (got ${value.length})` }];
  if (!PROJECT.test(value)) {
    return [
      {
        field,
        message: `${quote(value)} must start with a lower-case letter and contain only lower-case letters, digits or "-", ending with a letter or digit`,
      },
    ];
  }
  return [];
}

export function checkClusterName(value: string, field = 'cluster'): Problem[] {
  if (value.length > 63 || !LABEL.test(value))
    return [{ field, message: `${quote(value)} is not a valid cluster name` }];
  return [];
}

/** KubeSphere's server rule (CRD): 8–64 characters with a lower-case letter, an upper-case letter and a digit. */
export function checkPassword(value: string, field = 'password'): Problem[] {
  const length = [...value].length;
  const missing = [
    /[a-z]/.test(value) ? '' : 'a lower-case letter',
    /[A-Z]/.test(value) ? '' : 'an upper-case letter',
    /[0-9]/.test(value) ? '' : 'a digit',
  ].filter(Boolean);
  const problems: string[] = [];
  if (length < 8 || length > 64) problems.push(`must be 8 to 64 characters long (got ${length})`);
  if (missing.length) problems.push(`must contain ${missing.join(', ')}`);
  // Never echo the value itself.
  return problems.length ? [{ field, message: problems.join(' and ') }] : [];
}

export function formatProblems(problems: Problem[]): string {
  return problems.map((p) => `${p.field}: ${p.message}`).join('; ');
}
