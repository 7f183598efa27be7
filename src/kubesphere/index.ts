export { KubeSphereClient, type KubeSphereClientOptions, type ListQuery } from './client.js';
export type { Credentials } from './auth.js';
export { KubeSphereError, isKubeSphereError, type KubeSphereErrorCode } from './errors.js';
export { KEYS, type Member, type Namespace, type User, type WorkspaceTemplate } from './schemas.js';
