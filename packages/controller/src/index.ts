// Public surface of @kubefork/controller. Anything not exported here is internal.

// The pure half: everything `@kubefork/controller/plan` exports (planHost, planFork, matchRoute,
// render, the constants and the types), without I/O.
export * from './plan.js';
// The running controller (runtime/ talks to the API server; everything above is pure).
export type { Controller, ControllerOptions } from './runtime/controller.js';
export { startController } from './runtime/controller.js';
export { loadKubeConfig } from './runtime/kube-config.js';
export type { LeaderElectionOptions } from './runtime/leader.js';
export type { Logger, LogLevel } from './runtime/logger.js';
export { createJsonLogger } from './runtime/logger.js';
