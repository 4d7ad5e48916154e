import { runWithForkId } from '@kubefork/context';
import { invalidOption } from '@kubefork/context/integration';
import type { Channel, ConsumeMessage } from 'amqplib';
import { type ForkAwareSettings, forkQueueArguments, forkQueueName } from './consume-options.js';
import { Forwarder } from './forwarder.js';
import { ForkLiveness } from './liveness.js';
import { messageForkId } from './message-fork.js';
import type { ChannelSettings } from './options.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;
type Handler = (message: ConsumeMessage | null) => unknown;
/** Runs the caller's handler for `message` in fork `id` (read once per delivery). */
type Run = (id: string | undefined, message: ConsumeMessage) => unknown;

function noop(): void {}

/** Whether `message` was last dead-lettered out of `queue` (it expired in a fork's queue). */
function cameBackFrom(message: ConsumeMessage, queue: string): boolean {
  const deaths: unknown = message.properties.headers?.['x-death'];
  if (!Array.isArray(deaths)) return false;
  // RabbitMQ keeps the most recent death first.
  return (deaths[0] as { queue?: unknown } | undefined)?.queue === queue;
}

/**
 * Declares `<queue>.fork.<id>` on a channel of its own: a declaration that disagrees with an
 * existing queue closes the channel that made it, which must not be the caller's.
 */
async function declareForkQueue(settings: ForkAwareSettings, queue: string, name: string) {
  const channel = await settings.connection.createChannel();
  channel.on('error', noop);
  try {
    await channel.assertQueue(name, {
      durable: true,
      arguments: forkQueueArguments(queue, settings.queueTtlMs),
    });
  } finally {
    await channel.close().catch(noop);
  }
}

/**
 * `consume` with `forkAware: true`. A fork's consumer (own fork set) declares and consumes
 * `<queue>.fork.<id>`. The baseline consumer consumes `<queue>`: a message of fork X goes to
 * `<queue>.fork.X` when that queue has a consumer (confirmed, then the original is acked);
 * everything else is handled here, in its own fork, as a plain wrapped consume would.
 */
export function consumeForkAware(
  channel: Channel,
  consume: Method,
  queue: unknown,
  onMessage: Handler,
  fork: ForkAwareSettings,
  settings: ChannelSettings,
): Promise<unknown> {
  // '' (the last queue the channel declared) cannot name fork queues.
  if (typeof queue !== 'string' || queue === '') {
    throw invalidOption('queue', queue, 'a queue name with forkAware');
  }
  const run: Run = (id, message) => runWithForkId(id, () => onMessage(message));
  const handle = function forkAwareOnMessage(message: ConsumeMessage | null) {
    // `null`: the broker cancelled the consumer. Not a message, no fork.
    if (message === null) return onMessage(message);
    return run(messageForkId(message, settings), message);
  };
  if (fork.ownFork !== undefined) {
    return consumeOwnFork(channel, consume, queue, handle, fork, fork.ownFork);
  }
  return consumeBaseline(channel, consume, queue, onMessage, run, fork, settings);
}

async function consumeOwnFork(
  channel: Channel,
  consume: Method,
  queue: string,
  handle: Handler,
  fork: ForkAwareSettings,
  ownFork: string,
): Promise<unknown> {
  const name = forkQueueName(queue, ownFork);
  await declareForkQueue(fork, queue, name);
  return consume.call(channel, name, handle, fork.consumeOptions);
}

async function consumeBaseline(
  channel: Channel,
  consume: Method,
  queue: string,
  onMessage: Handler,
  run: Run,
  fork: ForkAwareSettings,
  settings: ChannelSettings,
): Promise<unknown> {
  const liveness = new ForkLiveness(fork.connection, fork.refreshMs);
  const forwarder = new Forwarder(fork.connection);
  let closed = false;
  channel.once('close', () => {
    closed = true;
    liveness.close();
    forwarder.close();
  });

  /** Handles a message whose fate was decided asynchronously, unless its channel is gone. */
  function later(id: string, message: ConsumeMessage): unknown {
    // The broker requeues what a closed channel held: handling it here would only add a copy.
    if (closed) return undefined;
    return run(id, message);
  }

  function moveOrHandle(id: string, message: ConsumeMessage, target: string): Promise<unknown> {
    return forwarder.forward(message, target).then((moved) => {
      if (!moved) return later(id, message);
      try {
        channel.ack(message);
      } catch {
        // The channel closed after the copy was confirmed: the original comes back and is sent
        // again (the duplicate the README describes).
      }
      return undefined;
    });
  }

  return consume.call(
    channel,
    queue,
    function forkAwareBaseline(message: ConsumeMessage | null) {
      if (message === null) return onMessage(message);
      const id = messageForkId(message, settings);
      if (id === undefined) return run(id, message);
      const target = forkQueueName(queue, id);
      const live = liveness.live(target, cameBackFrom(message, target));
      if (live === false) return run(id, message);
      if (live === true) return moveOrHandle(id, message, target);
      return live.then((yes) => (yes ? moveOrHandle(id, message, target) : later(id, message)));
    },
    fork.consumeOptions,
  );
}
