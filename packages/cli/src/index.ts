// Public surface of @kubefork/cli: the `kubefork` bin, and main() for embedding it.

export { commands, main } from './cli.js';
export type { CliIO, Command } from './command.js';
export { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './errors.js';
export { FIELD_MANAGER } from './fork-api.js';
export { buildFork, forkName } from './fork-spec.js';
