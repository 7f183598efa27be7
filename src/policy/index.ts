export * from './names.js';
export * from './plan.js';
export * from './roles.js';
