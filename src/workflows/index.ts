// The only path given to the worker's bundler.
export { onboardUser } from './onboard-user.js';
export { changeRole, setPlatformRole } from './change-role.js';
export { importBatch } from './import-batch.js';
export { importPart } from './import-part.js';
export { importDryRun } from './import-dry-run.js';
export { hireEvent } from './hire-event.js';
export { writeSwitch } from './write-switch.js';
export { deliverNotice } from './deliver-notice.js';
