import { checkOptions, checkTrust } from '@kubefork/context/integration';
import type { MsgHdrs } from '@nats-io/nats-core';

/**
 * A NATS message as far as this package reads it: a core `Msg` (subscriptions, request replies)
 * or a JetStream `JsMsg` (consumers' `consume()`, `fetch()`, `next()`).
 */
export interface NatsMessage {
  readonly subject: string;
  readonly headers?: MsgHdrs | undefined;
}

/** Options of `forkNats` and `runInMessageFork`. */
export interface ForkNatsOptions {
  /**
   * Whether to accept the fork id of a received message. Return false for subjects fed from
   * outside so that senders cannot pick a fork; the handler then runs as baseline. Only a
   * synchronous `true` trusts: a throw, a Promise or any other value counts as false.
   * Default: every message is trusted.
   */
  trust?: (message: NatsMessage) => boolean;
}

/** The resolved options: `trust` is undefined when every message is trusted. */
export interface NatsSettings {
  readonly trust: ((message: NatsMessage) => boolean) | undefined;
}

/** Validates options; a misspelt `trust` would otherwise silently trust every sender. */
export function resolveOptions(options: ForkNatsOptions | undefined): NatsSettings {
  const trust = checkTrust<(message: NatsMessage) => boolean>(
    checkOptions(options, ['trust']).trust,
    '(message) => boolean',
  );
  return { trust };
}
