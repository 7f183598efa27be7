export { KubeSphereClient, type Identity, type KubeSphereClientOptions, type ListQuery } from './client.js';
export type { AuthHealth, Credentials, CredentialsProvider, PasswordCredentials } from './auth.js';
export { loginOnce, type LoginOnceOptions, type LoginResult } from './login.js';
export {
  KS_REASONS,
  KubeSphereError,
  isKubeSphereError,
  type KubeSphereClientReason,
  type KubeSphereErrorCode,
} from './errors.js';
export { KEYS, type Member, type Namespace, type User, type WorkspaceTemplate } from './schemas.js';
