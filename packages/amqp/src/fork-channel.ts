import { runWithForkId } from '@kubefork/context';
import { invalidOption } from '@kubefork/context/integration';
import { type ForkedChannel, resolveConsumeOptions } from './consume-options.js';
import { consumeForkAware } from './fork-aware.js';
import { messageForkId } from './message-fork.js';
import { type ChannelSettings, type ForkChannelOptions, resolveOptions } from './options.js';
import { withFork } from './publish.js';

/** Marks a channel `forkChannel` has wrapped, shared by every copy of this package. */
const FORKED = Symbol.for('kubefork.amqp.forked');

type Method = (this: unknown, ...args: unknown[]) => unknown;

interface ChannelLike {
  publish: Method;
  sendToQueue: Method;
  consume: Method;
  [FORKED]?: true;
}

function isChannel(value: unknown): value is ChannelLike {
  const channel = value as ChannelLike | null;
  return (
    typeof channel === 'object' &&
    channel !== null &&
    typeof channel.publish === 'function' &&
    typeof channel.sendToQueue === 'function' &&
    typeof channel.consume === 'function'
  );
}

/**
 * Replaces `channel[name]` with `wrap(original)`, as an own property. The original is looked up
 * on the prototype at call time unless the channel had its own: an instrumentation that patches
 * amqplib's prototypes later (OpenTelemetry's, enabled after the channel was wrapped) still
 * runs beneath this wrapper instead of being bypassed.
 */
function replace(
  channel: ChannelLike,
  name: 'publish' | 'sendToQueue' | 'consume',
  wrap: (original: () => Method) => Method,
): void {
  const descriptor = Object.getOwnPropertyDescriptor(channel, name);
  const own = descriptor === undefined ? undefined : channel[name];
  const proto = Object.getPrototypeOf(channel) as ChannelLike;
  const original = own === undefined ? () => proto[name] : () => own;
  Object.defineProperty(channel, name, {
    value: wrap(original),
    writable: true,
    configurable: true,
    enumerable: descriptor?.enumerable ?? false,
  });
}

function forkHandler(onMessage: unknown, settings: ChannelSettings): unknown {
  if (typeof onMessage !== 'function') return onMessage;
  return function forkOnMessage(this: unknown, message: unknown) {
    // `null` tells the consumer it was cancelled by the broker: not a message, no fork.
    if (message === null || typeof message !== 'object') return onMessage.call(this, message);
    const id = messageForkId(message, settings);
    return runWithForkId(id, () => onMessage.call(this, message));
  };
}

/**
 * Makes an amqplib channel fork-aware and returns it (the same object):
 *
 * - `publish` and `sendToQueue`, called inside a fork, add `x-fork-identifier: <id>` (the
 *   configured header) to the message's headers once, and our member to its `baggage` header
 *   (other members kept). A header the caller set wins. Outside a fork nothing changes.
 * - `consume` runs every delivery of the handler in the fork of that message (header, then
 *   aliases, then baggage, as `configure` says): `getForkId()` answers in the handler, after
 *   `await` and in everything it starts, so what it publishes or calls carries the fork. A
 *   missing, invalid or untrusted value runs the handler as baseline (and tells `onInvalid`); the
 *   message is always delivered to the handler, to ack or nack as before.
 *
 * - `consume(queue, onMessage, { forkAware: true, connection })` applies the fork routing rule
 *   (promise API only): a consumer whose own fork is `forkId` (default `KUBEFORK_FORK_ID`)
 *   consumes `<queue>.fork.<id>`; the baseline consumer (no own fork) moves each message of a
 *   fork with a live consumer to that fork's queue and handles everything else. See the README
 *   ("Fork-aware consumers") for the guarantees; `ForkConsumeOptions` for the options.
 *
 * Works with the promise API (`amqplib`) and the callback API (`amqplib/callback_api`), with
 * `Channel` and `ConfirmChannel` (publish callbacks are still called). Wrapping a channel twice
 * is the same as once (the first call's options stay). Throws a `TypeError` (code
 * `ERR_KUBEFORK_INVALID_OPTION`) for something that is not a channel or a bad option.
 *
 * @param options.trust - `(message) => boolean`; when it returns false the message's fork is
 *   dropped (use for queues fed from outside). Default: trust every message.
 * @example
 * import amqp from 'amqplib';
 * import { forkChannel } from '@kubefork/amqp';
 *
 * const channel = forkChannel(await (await amqp.connect(url)).createChannel());
 * await channel.consume('orders', async (message) => {
 *   await fetch('http://billing/charge', { method: 'POST' }); // carries the message's fork
 *   channel.ack(message);
 * });
 */
export function forkChannel<C extends object>(
  channel: C,
  options?: ForkChannelOptions,
): ForkedChannel<C> {
  if (!isChannel(channel)) {
    throw invalidOption('channel', channel, 'an amqplib Channel or ConfirmChannel');
  }
  const settings = resolveOptions(options);
  if (channel[FORKED] === true) return channel as ForkedChannel<C>;
  replace(
    channel,
    'publish',
    (original) =>
      function publish(this: unknown, exchange, routingKey, content, options, ...rest) {
        return original().call(this, exchange, routingKey, content, withFork(options), ...rest);
      },
  );
  replace(
    channel,
    'sendToQueue',
    (original) =>
      function sendToQueue(this: unknown, queue, content, options, ...rest) {
        return original().call(this, queue, content, withFork(options), ...rest);
      },
  );
  replace(
    channel,
    'consume',
    (original) =>
      function consume(this: unknown, queue, onMessage, options, ...rest) {
        const fork = resolveConsumeOptions(options);
        if (fork === undefined || typeof onMessage !== 'function') {
          return original().call(this, queue, forkHandler(onMessage, settings), options, ...rest);
        }
        // The callback API's consume takes a fourth parameter, its callback; ours needs promises.
        if (original().length > 3) {
          throw invalidOption('forkAware', true, "used on a channel of amqplib's promise API");
        }
        const handler = (message: unknown) => onMessage.call(this, message);
        return consumeForkAware(this as never, original(), queue, handler, fork, settings);
      },
  );
  Object.defineProperty(channel, FORKED, { value: true });
  return channel as ForkedChannel<C>;
}
