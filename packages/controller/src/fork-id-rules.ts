// The SDK's fork-id rule and default header, which VSConfigs and Forks must follow so that the
// mesh and the SDK agree (DESIGN.md, "The SDK and the mesh must agree"). A copy of the defaults of
// @kubefork/context (packages/context/src/config.ts), kept here so that the planner
// (`@kubefork/controller/plan`) loads nothing of the SDK; test/option-errors.test.ts fails the
// moment the two differ.

/** The header that carries the fork id, in and out. */
export const DEFAULT_HEADER = 'x-fork-identifier';
/** A valid fork id matches this anchored pattern. */
export const DEFAULT_FORK_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Longest valid fork id. */
export const DEFAULT_MAX_LENGTH = 63;
