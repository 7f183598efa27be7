import { checkUsername, MAX_USERNAME, quote, type Problem } from '../policy/names.js';
import type { HireEvent } from './hire-event.js';

/**
 * The KubeSphere username of a hire: the one the event gives, else the local part of the work email.
 *
 * Nothing is rewritten beyond lower-casing ASCII letters. `first_last` → `first-last`, `o'brien` → `obrien`
 * or a numeric suffix would each produce a name that may already be someone else's account, and the
 * onboarding would then grant roles to (or be refused against) the wrong person with nobody having chosen
 * that name. A refusal asks a person to choose it instead.
 *
 * Only A–Z are lower-cased, not the whole of Unicode: `toLowerCase()` turns the Kelvin sign (U+212A) into
 * an ASCII `k`, so a non-ASCII address could become an ASCII name that looks chosen but was not.
 */
export type UsernameResult = { ok: true; username: string } | { ok: false; problem: Problem };

const ALLOWED = /[a-z0-9.-]/;
const ALNUM = /^[a-z0-9]$/;
const edgesAlnum = (part: string) => ALNUM.test(part.at(0) ?? '') && ALNUM.test(part.at(-1) ?? '');

/** Why `name` is not a KubeSphere username, in words; undefined when it is one (checkUsername decides). */
function whyNotUsername(name: string): string | undefined {
  const broken = checkUsername(name)[0];
  if (broken === undefined) return undefined;
  if (name === '') return 'is empty';
  const reasons: string[] = [];
  if (name.length > MAX_USERNAME) reasons.push(`is ${name.length} characters long (at most ${MAX_USERNAME})`);
  const refused = [...new Set([...name].filter((c) => !ALLOWED.test(c)))];
  if (refused.length > 0)
    reasons.push(
      `contains ${refused.map(quote).join(', ')} (only lower-case letters a-z, digits, "-" and "." are allowed)`,
    );
  else if (!edgesAlnum(name)) reasons.push('must start and end with a letter or digit');
  else if (!name.split('.').every(edgesAlnum))
    reasons.push('has a part between dots that does not start and end with a letter or digit');
  return reasons.length > 0 ? reasons.join(' and ') : broken.message;
}

export function usernameFor(event: Pick<HireEvent, 'username' | 'email'>): UsernameResult {
  if (event.username !== undefined) {
    const problem = checkUsername(event.username)[0];
    return problem ? { ok: false, problem } : { ok: true, username: event.username };
  }
  const email = event.email;
  const at = email.lastIndexOf('@');
  if (at <= 0)
    return {
      ok: false,
      problem: { field: 'email', message: `${quote(email)} has no local part to derive a username from` },
    };
  const username = email.slice(0, at).replace(/[A-Z]/g, (c) => c.toLowerCase());
  const why = whyNotUsername(username);
  if (why === undefined) return { ok: true, username };
  return {
    ok: false,
    problem: {
      field: 'email',
      message:
        `no username can be derived from the work email ${quote(email)}: its local part ${quote(username)} ${why}; ` +
        "it is not rewritten, since a rewritten name can be someone else's account: give the username explicitly or onboard this person by hand",
    },
  };
}
