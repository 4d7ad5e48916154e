// Public surface of @kubefork/kafka. Anything not exported here is internal.

export type { ForkableConsumer, ForkConsumerOptions } from './consumer.js';
export { forkConsumer, runInMessageFork } from './consumer.js';
export type { ForkAwareOptions } from './fork-aware.js';
export { forkGroupId } from './fork-aware.js';
export type { KafkaHeaders } from './headers.js';
export type { ForkMessage } from './message-fork.js';
export type { ForkableSender } from './producer.js';
export { forkProducer } from './producer.js';
