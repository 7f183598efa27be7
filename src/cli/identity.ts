import { kubesphereConfig, sealPublicKeyPath } from '../config.js';
import { isKubeSphereError } from '../kubesphere/errors.js';
import { loginOnce } from '../kubesphere/login.js';
import { readPublicKeyFile, readSecretFile } from '../files.js';
import { ExitError } from './options.js';

/**
 * Who runs this command, as KubeSphere knows them: a token from KUBESPHERE_TOKEN, or one password login
 * with KUBESPHERE_USERNAME + KUBESPHERE_PASSWORD (or _FILE), the variables common KubeSphere scripts use.
 * Never retried: each failed login counts towards KubeSphere's lockout of that account.
 */
export async function ownToken(): Promise<string> {
  const config = kubesphereConfig();
  const login = config.login;
  if ('token' in login) return login.token;
  const password =
    'password' in login
      ? login.password
      : readSecretFile(login.passwordFile, 'KUBESPHERE_PASSWORD_FILE', 'a file holding the password');
  try {
    const { accessToken } = await loginOnce({ baseUrl: config.baseUrl, ...login, password });
    return accessToken;
  } catch (error) {
    if (isKubeSphereError(error, 'KS_LOGIN_FAILED') || isKubeSphereError(error, 'KS_LOCKED_OUT'))
      throw new ExitError(
        `KubeSphere at ${config.baseUrl} refused the login of ${login.username} (KUBESPHERE_USERNAME): ${error.message}; not retried, since KubeSphere locks an account after repeated failures`,
        2,
      );
    throw new ExitError(
      `cannot log in to KubeSphere at ${config.baseUrl} (KUBESPHERE_HOST): ${(error as Error).message}`,
    );
  }
}

/** The workers' public key (KS_ONBOARD_SEAL_PUBLIC_KEY), read and checked once per command. */
export function workersPublicKey(): string {
  return readPublicKeyFile(sealPublicKeyPath(), 'KS_ONBOARD_SEAL_PUBLIC_KEY');
}

/** A password file for the person being onboarded, checked before it is sealed. */
export function readPasswordFile(path: string): string {
  return readSecretFile(path, '--password-file', 'a file holding the initial password');
}
