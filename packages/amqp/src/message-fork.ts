import { extractForkId, runWithForkId } from '@kubefork/context';
import { isTrusted } from '@kubefork/context/integration';
import type { Message } from 'amqplib';
import { type HeaderTable, inboundCarrier } from './header-table.js';
import { type ChannelSettings, type ForkChannelOptions, resolveOptions } from './options.js';

/**
 * The fork a consumed message belongs to: from its header table (the header, then aliases,
 * then the baggage member, validated by the core, which tells `onInvalid` about a bad value),
 * or undefined when it has none, an invalid one, or `trust` refuses it. Never throws: a
 * message with a hostile header table is still handled, as baseline.
 */
export function messageForkId(message: unknown, settings: ChannelSettings): string | undefined {
  try {
    const headers = (message as Message).properties?.headers as HeaderTable | undefined;
    if (headers === null || typeof headers !== 'object') return undefined;
    if (!isTrusted(settings.trust, message as Message)) return undefined;
    return extractForkId(inboundCarrier(headers));
  } catch {
    // A message object that throws when read (a proxy, a getter) carries no fork.
    return undefined;
  }
}

/**
 * Runs `fn` in the fork of `message` and returns what `fn` returns: for messages a wrapped
 * `consume` does not deliver, such as those of `channel.get(queue)`. Outside the handler's own
 * errors it never throws; a message without a valid (or trusted) fork runs as baseline.
 *
 * @example
 * const message = await channel.get('orders');
 * if (message) await runInMessageFork(message, () => handle(message));
 */
export function runInMessageFork<T>(
  message: Message,
  fn: () => T,
  options?: ForkChannelOptions,
): T {
  const settings = resolveOptions(options);
  return runWithForkId(messageForkId(message, settings), fn);
}
