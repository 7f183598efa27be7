/**
 * The emulator's seeded accounts (src/emulator/seed.ts; repeated here because the emulator shares no code):
 * `admin` is the worker's own account, `ops-admin` a second platform-admin who asks and approves.
 */
export const EMULATOR_ADMIN = { username: 'admin', password: 'P@88w0rd' };
export const EMULATOR_OPS = { username: 'ops-admin', password: 'Ops-P@88w0rd' };
/**
 * Made by the dev stack (not the emulator) on first start: a third platform-admin, so that what ops-admin asks
 * for can be approved by someone else, as the rules require.
 */
export const DEV_APPROVER = { username: 'carol', password: 'Carol-P@88w0rd', email: 'carol@example.com' };
