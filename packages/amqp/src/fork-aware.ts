import { invalidOption } from '@kubefork/context/integration';
import type { Channel, ConsumeMessage } from 'amqplib';
import { type ForkAwareSettings, forkQueueArguments, forkQueueName } from './consume-options.js';
import { Forwarder } from './forwarder.js';
import { ForkLiveness } from './liveness.js';
import { messageForkId } from './message-fork.js';
import type { ChannelSettings } from './options.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;
type Handler = (message: ConsumeMessage | null) => unknown;

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
  handle: Handler,
  fork: ForkAwareSettings,
  settings: ChannelSettings,
): Promise<unknown> {
  // '' (the last queue the channel declared) cannot name fork queues.
  if (typeof queue !== 'string' || queue === '') {
    throw invalidOption('queue', queue, 'a queue name with forkAware');
  }
  if (fork.ownFork !== undefined)
    return consumeOwnFork(channel, consume, queue, handle, fork, fork.ownFork);
  return consumeBaseline(channel, consume, queue, handle, fork, settings);
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
  handle: Handler,
  fork: ForkAwareSettings,
  settings: ChannelSettings,
): Promise<unknown> {
  const liveness = new ForkLiveness(fork.connection, fork.refreshMs);
  const forwarder = new Forwarder(fork.connection);
  channel.once('close', () => {
    liveness.close();
    forwarder.close();
  });

  function moveOrHandle(message: ConsumeMessage, target: string): Promise<unknown> {
    return forwarder.forward(message, target).then((moved) => {
      if (!moved) return handle(message);
      channel.ack(message);
      return undefined;
    });
  }

  return consume.call(
    channel,
    queue,
    function forkAwareOnMessage(message: ConsumeMessage | null) {
      if (message === null) return handle(message);
      const id = messageForkId(message, settings);
      if (id === undefined) return handle(message);
      const target = forkQueueName(queue, id);
      const live = liveness.live(target, cameBackFrom(message, target));
      if (live === false) return handle(message);
      if (live === true) return moveOrHandle(message, target);
      return live.then((yes) => (yes ? moveOrHandle(message, target) : handle(message)));
    },
    fork.consumeOptions,
  );
}
