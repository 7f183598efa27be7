/**
 * The server-side validation texts of kube-apiserver and ks-apiserver (kubesphere-api.md §3, §6, §7),
 * reproduced so that clients see exactly what a real cluster answers.
 */

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const SUBDOMAIN_HELP =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_HELP =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/** Returns kube-apiserver's "is invalid" text for a bad object name, or undefined when valid. */
export function invalidName(qualifiedKind: string, name: string, rule: 'subdomain' | 'label'): string | undefined {
  const prefix = `${qualifiedKind} "${name}" is invalid: metadata.name`;
  if (name === '') return `${prefix}: Required value: name or generateName is required`;
  const max = rule === 'subdomain' ? 253 : 63;
  const problems: string[] = [];
  if (name.length > max) problems.push(`must be no more than ${max} characters`);
  if (!(rule === 'subdomain' ? SUBDOMAIN : LABEL).test(name))
    problems.push(rule === 'subdomain' ? SUBDOMAIN_HELP : LABEL_HELP);
  if (problems.length === 0) return undefined;
  return `${prefix}: Invalid value: ${goQuote(name)}: ${problems.join(', ')}`;
}

const BCRYPT = /^\$2[ayb]\$.{56}$/;
// The CRD enumerates orders because RE2 has no look-ahead.
const PASSWORD_PATTERN =
  '^(.*[a-z].*[A-Z].*[0-9].*)$|^(.*[a-z].*[0-9].*[A-Z].*)$|^(.*[A-Z].*[a-z].*[0-9].*)$|^(.*[A-Z].*[0-9].*[a-z].*)$|^(.*[0-9].*[a-z].*[A-Z].*)$|^(.*[0-9].*[A-Z].*[a-z].*)$|^(\\$2[ayb]\\$.{56})$';

export function isBcrypt(password: string): boolean {
  return BCRYPT.test(password);
}

/**
 * CRD schema errors for spec.password. Like the real server, the message quotes the offending value:
 * that is why our client scrubs passwords out of every error it builds.
 */
export function invalidPassword(username: string, password: string): string | undefined {
  if (password === '' || isBcrypt(password)) return undefined;
  const problems: string[] = [];
  const value = `spec.password: Invalid value: ${goQuote(password)}: spec.password in body`;
  if ([...password].length < 8) problems.push(`${value} should be at least 8 chars long`);
  if ([...password].length > 64) problems.push(`${value} should be at most 64 chars long`);
  if (!(/[a-z]/.test(password) && /[A-Z]/.test(password) && /[0-9]/.test(password))) {
    problems.push(`${value} should match '${PASSWORD_PATTERN}'`);
  }
  if (problems.length === 0) return undefined;
  const joined = problems.length === 1 ? problems[0] : `[${problems.join(', ')}]`;
  return `User.iam.kubesphere.io "${username}" is invalid: ${joined}`;
}

/**
 * An approximation of Go's net/mail.ParseAddress: an addr-spec, optionally behind a display name in
 * angle brackets. Returns the bare address or undefined.
 */
export function parseEmailAddress(input: string): string | undefined {
  const bracketed = /^[^<>]*<([^<>]+)>\s*$/.exec(input);
  const address = (bracketed ? bracketed[1]! : input).trim();
  const atom = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
  const local = `${atom}(?:\\.${atom})*`;
  const domain = `${atom}(?:\\.${atom})*`;
  return new RegExp(`^${local}@${domain}$`).test(address) ? address : undefined;
}

/** Go's %q for plain strings (what kube puts after "Invalid value:"). */
export function goQuote(value: string): string {
  return JSON.stringify(value);
}

/** FNV-1a 64-bit, hex: KubeSphere's fallback role name when `<ws>-<role>` exceeds 63 characters. */
export function fnv64aHex(value: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(value, 'utf8')) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16);
}
