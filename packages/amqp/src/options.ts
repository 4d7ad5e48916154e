import { checkOptions, checkTrust } from '@kubefork/context/integration';
import type { Message } from 'amqplib';

/** Options of `forkChannel` and `runInMessageFork`. */
export interface ForkChannelOptions {
  /**
   * Whether to accept the fork id of a consumed message. Return false for messages from
   * outside (a queue fed by partners or the public edge) so that senders cannot pick a fork;
   * the handler then runs as baseline. Only a synchronous `true` trusts: a throw, a Promise or
   * any other value counts as false. Default: every message is trusted.
   */
  trust?: (message: Message) => boolean;
}

/** The resolved options: `trust` is undefined when every message is trusted. */
export interface ChannelSettings {
  readonly trust: ((message: Message) => boolean) | undefined;
}

/** Validates options; a misspelt `trust` would otherwise silently trust every sender. */
export function resolveOptions(options: ForkChannelOptions | undefined): ChannelSettings {
  const trust = checkTrust<(message: Message) => boolean>(
    checkOptions(options, ['trust']).trust,
    '(message) => boolean',
  );
  return { trust };
}
