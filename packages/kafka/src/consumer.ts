import { runWithForkId } from '@kubefork/context';
import { checkOptions, checkTrust } from '@kubefork/context/integration';
import type { Consumer, ConsumerConfig, Kafka } from 'kafkajs';
import { type ForkAwareOptions, forkAwareConsumer } from './fork-aware.js';
import { type ForkMessage, forkIdOfMessage, type Trust } from './message-fork.js';
import { isWrapped, markWrapped, wrapMethod } from './wrap.js';

/** Options of `forkConsumer` and `runInMessageFork`. */
export interface ForkConsumerOptions {
  /**
   * Whether to accept the fork id a message carries. Return false for messages from producers
   * outside your control (a topic fed by partners, say): the message is then handled as
   * baseline. Only a synchronous `true` trusts: a throw, a Promise or any other value counts as
   * false. Default: every message is trusted.
   */
  trust?: (message: ForkMessage) => boolean;
}

/** The parts of a KafkaJS `Consumer` this package wraps. */
export interface ForkableConsumer {
  run(config?: never): Promise<unknown>;
}

/**
 * The trust policy of the `forkConsumer` whose `eachBatch` delivered a message, so that
 * `runInMessageFork(message, fn)` inside that handler applies it without being told again.
 */
const batchTrust = new WeakMap<object, Trust>();

function resolveTrust(options: ForkConsumerOptions | undefined): Trust | undefined {
  return checkTrust<Trust>(checkOptions(options, ['trust']).trust, '(message) => boolean');
}

/**
 * Runs `fn` in the fork `message` carries and returns what `fn` returns: the fork header, then
 * its aliases, then our `baggage` member, validated like an HTTP request's (`extractForkId`).
 * A message without a fork, or with an invalid or untrusted one, runs `fn` as baseline (hiding
 * any outer fork); `onInvalid` is told about invalid values. Nothing here throws except `fn`.
 *
 * For `eachBatch` handlers and other loops over messages. Inside the `eachBatch` of a
 * `forkConsumer` the consumer's `trust` applies; pass `options.trust` to override it.
 *
 * @example
 * consumer.run({
 *   eachBatch: async ({ batch, resolveOffset }) => {
 *     for (const message of batch.messages) {
 *       await runInMessageFork(message, () => handle(message)); // getForkId() is the message's fork
 *       resolveOffset(message.offset);
 *     }
 *   },
 * });
 */
export function runInMessageFork<T>(
  message: ForkMessage,
  fn: () => T,
  options?: ForkConsumerOptions,
): T {
  const explicit = options === undefined ? undefined : resolveTrust(options);
  const trust =
    explicit ??
    (message !== null && typeof message === 'object' ? batchTrust.get(message) : undefined);
  return runWithForkId(forkIdOfMessage(message, trust), fn);
}

/**
 * Makes a KafkaJS consumer run each message's handling in that message's fork: `eachMessage` runs
 * in the fork of its message (`getForkId()` inside it, and every outbound call it makes carries
 * the fork); `eachBatch` runs as baseline, and `runInMessageFork(message, fn)` runs one
 * message's work in its fork. Invalid or untrusted values mean baseline, `onInvalid` told; the
 * message is still handled and committed as usual.
 *
 * Wraps `run` in place and returns the consumer; wrapping twice is harmless. Throws a
 * `TypeError` for unknown options or a `trust` that is not a function.
 *
 * @example
 * import { Kafka } from 'kafkajs';
 * import { getForkId } from '@kubefork/context';
 * import { forkConsumer } from '@kubefork/kafka';
 *
 * const consumer = forkConsumer(new Kafka({ brokers: ['kafka:9092'] }).consumer({ groupId: 'f' }));
 * await consumer.connect();
 * await consumer.subscribe({ topics: ['orders'] });
 * await consumer.run({ eachMessage: async ({ message }) => console.log(getForkId()) }); // 'alice'
 */
export function forkConsumer<C extends ForkableConsumer>(
  consumer: C,
  options?: ForkConsumerOptions,
): C;
/**
 * A fork-aware consumer of group `config.groupId`: alice's messages reach alice's fork of the
 * worker, everything else the baseline worker, like HTTP routing by the mesh. The process's fork
 * is `options.forkId`, else the `KUBEFORK_FORK_ID` environment variable (set by a Fork on its
 * copies); without one this is the baseline worker.
 *
 * - A fork's worker joins group `<groupId>.fork.<id>`, handles only its fork's messages (in that
 *   fork) and commits the others unhandled.
 * - The baseline worker joins `groupId`, handles messages without a fork and those of forks
 *   without a live group, and commits the others unhandled. It learns which fork groups are live
 *   from the admin API every `refreshMs`; when one is gone it reads that fork's messages again
 *   from where the fork's group had committed, so none is lost.
 *
 * At-least-once; during a membership change some messages of that fork may be handled twice
 * (see the README for the windows). Handle with `eachMessage` only; subscribe by topic name.
 * Throws a `TypeError` for a bad option, an invalid `forkId` or `KUBEFORK_FORK_ID`, or a config
 * without `groupId`; `run` throws one for `eachBatch`.
 *
 * @example
 * import { Kafka } from 'kafkajs';
 * import { forkConsumer } from '@kubefork/kafka';
 *
 * const kafka = new Kafka({ brokers: ['kafka:9092'] });
 * const consumer = forkConsumer(kafka, { groupId: 'billing' }, { forkAware: true });
 * await consumer.connect();
 * await consumer.subscribe({ topics: ['orders'] });
 * await consumer.run({ eachMessage: async ({ message }) => bill(message) }); // in the message's fork
 */
export function forkConsumer(
  kafka: Kafka,
  config: ConsumerConfig,
  options: ForkAwareOptions,
): Consumer;
export function forkConsumer(consumerOrKafka: unknown, second?: unknown, third?: unknown): unknown {
  if (third !== undefined) return forkAwareConsumer(consumerOrKafka, second, third);
  return wrapConsumer(consumerOrKafka as ForkableConsumer, second as ForkConsumerOptions);
}

function wrapConsumer<C extends ForkableConsumer>(
  consumer: C,
  options: ForkConsumerOptions = {},
): C {
  const trust = resolveTrust(options);
  if (consumer === null || typeof consumer !== 'object' || isWrapped(consumer)) return consumer;

  function wrapEachMessage(handler: (...args: unknown[]) => unknown) {
    return function forkEachMessage(this: unknown, payload: unknown, ...rest: unknown[]) {
      const message = (payload as { message?: unknown } | null | undefined)?.message;
      return runWithForkId(forkIdOfMessage(message, trust), () =>
        handler.call(this, payload, ...rest),
      );
    };
  }

  function wrapEachBatch(handler: (...args: unknown[]) => unknown) {
    return function forkEachBatch(this: unknown, payload: unknown, ...rest: unknown[]) {
      if (trust !== undefined) rememberTrust(payload, trust);
      // Baseline: a batch mixes forks, and `run` may have been called inside one.
      return runWithForkId(undefined, () => handler.call(this, payload, ...rest));
    };
  }

  wrapMethod(
    consumer,
    'run',
    (run) =>
      function forkRun(this: unknown, config: unknown, ...rest: unknown[]) {
        if (config === null || typeof config !== 'object') return run.call(this, config, ...rest);
        const { eachMessage, eachBatch } = config as { eachMessage?: unknown; eachBatch?: unknown };
        const forked: Record<string, unknown> = { ...config };
        if (typeof eachMessage === 'function')
          forked.eachMessage = wrapEachMessage(eachMessage as never);
        if (typeof eachBatch === 'function') forked.eachBatch = wrapEachBatch(eachBatch as never);
        return run.call(this, forked, ...rest);
      },
  );
  markWrapped(consumer);
  return consumer;
}

function rememberTrust(payload: unknown, trust: Trust): void {
  try {
    const messages = (payload as { batch?: { messages?: unknown } }).batch?.messages;
    if (!Array.isArray(messages)) return;
    for (const message of messages) {
      if (message !== null && typeof message === 'object') batchTrust.set(message, trust);
    }
  } catch {
    // A hostile payload: runInMessageFork then trusts only what it is told.
  }
}
