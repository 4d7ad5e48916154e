import { extractForkId, runWithForkId } from '@kubefork/context';
import { isTrusted, reportInvalidValue } from '@kubefork/context/integration';
import type { MsgHdrs } from '@nats-io/nats-core';
import { inboundCarrier } from './message-headers.js';
import {
  type ForkNatsOptions,
  type NatsMessage,
  type NatsSettings,
  resolveOptions,
} from './options.js';

/**
 * The fork a received message belongs to: from its headers (the header, then aliases, then the
 * baggage member, validated by the core, which tells `onInvalid` about a bad value), or
 * undefined when it has none, an invalid one, or `trust` refuses it. Never throws: nats.js
 * decodes headers when they are first read and throws on a malformed header block; such a
 * message is still handled, as baseline.
 */
export function messageForkId(message: unknown, settings: NatsSettings): string | undefined {
  let carrier: MsgHdrs | undefined;
  try {
    carrier = (message as NatsMessage).headers;
  } catch {
    // The header block could not be decoded: whatever fork it held is lost, so say so.
    reportInvalidValue('(undecodable NATS header block)', 'malformed');
    return undefined;
  }
  try {
    if (carrier === undefined || carrier === null) return undefined;
    if (!isTrusted(settings.trust, message as NatsMessage)) return undefined;
    return extractForkId(inboundCarrier(carrier));
  } catch {
    return undefined;
  }
}

/**
 * Runs `fn` in the fork of `message` and returns what `fn` returns: for `for await` loops over
 * a subscription or a JetStream consumer, whose bodies run in the loop's context, not the
 * message's. Works on core messages (`Msg`) and JetStream messages (`JsMsg`) alike. A message
 * without a valid (or trusted) fork runs as baseline; only `fn`'s own errors are thrown.
 *
 * @example
 * for await (const msg of nc.subscribe('orders')) {
 *   await runInMessageFork(msg, () => handle(msg));
 * }
 */
export function runInMessageFork<T>(
  message: NatsMessage,
  fn: () => T,
  options?: ForkNatsOptions,
): T {
  return runWithForkId(messageForkId(message, resolveOptions(options)), fn);
}
