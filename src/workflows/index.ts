// The only path given to the worker's bundler.
export { onboardUser } from './onboard-user.js';
export { changeRole } from './change-role.js';
