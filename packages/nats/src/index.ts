// Public surface of @kubefork/nats. Anything not exported here is internal.

export { forkNats } from './fork-nats.js';
export { runInMessageFork } from './message-fork.js';
export type { ForkNatsOptions, NatsMessage } from './options.js';
