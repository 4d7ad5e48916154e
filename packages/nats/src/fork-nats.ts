import { runWithForkId } from '@kubefork/context';
import { invalidOption } from '@kubefork/context/integration';
import { messageForkId } from './message-fork.js';
import { type ForkNatsOptions, type NatsSettings, resolveOptions } from './options.js';
import { withFork } from './outbound.js';

/** Marks a connection `forkNats` has wrapped, shared by every copy of this package. */
const FORKED = Symbol.for('kubefork.nats.forked');

type Method = (this: unknown, ...args: unknown[]) => unknown;
type Name = 'publish' | 'request' | 'requestMany' | 'subscribe';

type ConnectionLike = Record<Name, Method> & { [FORKED]?: true };

function isConnection(value: unknown): value is ConnectionLike {
  const connection = value as ConnectionLike | null;
  return (
    typeof connection === 'object' &&
    connection !== null &&
    typeof connection.publish === 'function' &&
    typeof connection.request === 'function' &&
    typeof connection.subscribe === 'function'
  );
}

/**
 * Replaces `connection[name]` with `wrap(original)`, as an own property. The original is
 * looked up on the prototype at call time unless the connection had its own, so a later
 * prototype patch (an instrumentation) still runs beneath this wrapper.
 */
function replace(
  connection: ConnectionLike,
  name: Name,
  wrap: (original: () => Method) => Method,
): void {
  if (typeof connection[name] !== 'function') return;
  const descriptor = Object.getOwnPropertyDescriptor(connection, name);
  const own = descriptor === undefined ? undefined : connection[name];
  const proto = Object.getPrototypeOf(connection) as ConnectionLike;
  const original = own === undefined ? () => proto[name] : () => own;
  Object.defineProperty(connection, name, {
    value: wrap(original),
    writable: true,
    configurable: true,
    enumerable: descriptor?.enumerable ?? false,
  });
}

function forkCallback(options: unknown, settings: NatsSettings): unknown {
  const callback = (options as { callback?: unknown } | undefined)?.callback;
  if (typeof callback !== 'function') return options;
  return {
    ...(options as object),
    callback: function forkCallback(this: unknown, error: unknown, message: unknown) {
      if (message === null || typeof message !== 'object') {
        return callback.call(this, error, message);
      }
      const id = messageForkId(message, settings);
      return runWithForkId(id, () => callback.call(this, error, message));
    },
  };
}

/**
 * Makes a nats.js v3 connection fork-aware and returns it (the same object):
 *
 * - `publish`, `request` and `requestMany`, called inside a fork, add `x-fork-identifier: <id>`
 *   (the configured header) to the message's headers once, and our member to its `baggage`
 *   header (other members kept). A header the caller set wins. Outside a fork nothing changes.
 *   JetStream publishes through the connection's `request`, so `jetstream(nc).publish` carries
 *   the fork too.
 * - `subscribe` with a `callback` runs every message's callback in that message's fork (header,
 *   then aliases, then baggage, as `configure` says); so do JetStream consumers' `consume({
 *   callback })`, which subscribe through the connection. A missing, invalid or untrusted value
 *   runs the callback as baseline (and tells `onInvalid`); every message is still delivered.
 *   For `for await` loops use `runInMessageFork(msg, fn)`.
 *
 * Wrapping a connection twice is the same as once (the first call's options stay). Throws a
 * `TypeError` (code `ERR_KUBEFORK_INVALID_OPTION`) for something that is not a connection or a
 * bad option.
 *
 * @param options.trust - `(message) => boolean`; when it returns false the message's fork is
 *   dropped. Default: trust every message.
 * @example
 * import { connect } from '@nats-io/transport-node';
 * import { forkNats } from '@kubefork/nats';
 *
 * const nc = forkNats(await connect({ servers: 'nats:4222' }));
 * nc.subscribe('orders', {
 *   callback: (err, msg) => nc.publish('invoices', msg.data), // carries msg's fork on
 * });
 */
export function forkNats<C extends object>(connection: C, options?: ForkNatsOptions): C {
  if (!isConnection(connection)) {
    throw invalidOption('connection', connection, 'a nats.js NatsConnection');
  }
  const settings = resolveOptions(options);
  if (connection[FORKED] === true) return connection;
  replace(
    connection,
    'publish',
    (original) =>
      function publish(this: unknown, subject, data, options, ...rest) {
        return original().call(this, subject, data, withFork(options), ...rest);
      },
  );
  for (const name of ['request', 'requestMany'] as const) {
    replace(
      connection,
      name,
      (original) =>
        function request(this: unknown, subject, data, options, ...rest) {
          return original().call(this, subject, data, withFork(options), ...rest);
        },
    );
  }
  replace(
    connection,
    'subscribe',
    (original) =>
      function subscribe(this: unknown, subject, options, ...rest) {
        return original().call(this, subject, forkCallback(options, settings), ...rest);
      },
  );
  Object.defineProperty(connection, FORKED, { value: true });
  return connection;
}
