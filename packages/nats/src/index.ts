// Public surface of @kubefork/nats. Anything not exported here is internal.

export type { ForkConsumer, ForkConsumerOptions, ForkJsMessage } from './fork-consumer.js';
export { forkConsumer } from './fork-consumer.js';
export { forkNats } from './fork-nats.js';
export { runInMessageFork } from './message-fork.js';
export type { ForkNatsOptions, NatsMessage } from './options.js';
