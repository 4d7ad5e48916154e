// Public surface of @kubefork/amqp. Anything not exported here is internal.

export type {
  ForkAwareConsume,
  ForkConnection,
  ForkConsumeOptions,
  ForkedChannel,
} from './consume-options.js';
export { forkChannel } from './fork-channel.js';
export { runInMessageFork } from './message-fork.js';
export type { ForkChannelOptions } from './options.js';
