import { getForkId, mergeBaggage } from '@kubefork/context';
import { forkConfig, injectForkHeaders } from '@kubefork/context/integration';
import { recordHeaders } from './headers.js';
import { isWrapped, markWrapped, wrapMethod } from './wrap.js';

/** The parts of a KafkaJS `Producer` (or `Transaction`) this package wraps. */
export interface ForkableSender {
  send(record: never): Promise<unknown>;
  sendBatch(batch: never): Promise<unknown>;
  transaction?(): Promise<unknown>;
}

/**
 * One send's fork: the id and the header values a message without headers gets, computed once
 * per `send` rather than once per message.
 */
interface Fork {
  readonly id: string;
  readonly header: string;
  /** Our baggage member alone, or undefined when `baggageKey` is null. */
  readonly baggage: string | undefined;
}

function forkOf(id: string): Fork {
  const { header, baggageKey } = forkConfig();
  return {
    id,
    header,
    baggage: baggageKey === null ? undefined : mergeBaggage(undefined, baggageKey, id),
  };
}

/**
 * A copy of `message` whose headers carry `fork`: the header once (a value the caller set, in
 * any case, as string or Buffer, wins) and our baggage member merged into `baggage`. A copy,
 * because callers reuse message objects: a fork written into one would follow the next send as
 * an explicit value. Anything that is not a message object is returned as it is, for KafkaJS to
 * refuse with its own error.
 */
function withFork(message: unknown, fork: Fork): unknown {
  if (message === null || typeof message !== 'object') return message;
  try {
    const own = (message as { headers?: unknown }).headers;
    if (own === undefined || own === null) {
      // The common case, no headers of the caller's: nothing to read or merge.
      const headers: Record<string, unknown> = { [fork.header]: fork.id };
      if (fork.baggage !== undefined) headers.baggage = fork.baggage;
      return { ...message, headers };
    }
    if (typeof own !== 'object' || Array.isArray(own)) return message;
    const headers: Record<string, unknown> = { ...(own as Record<string, unknown>) };
    injectForkHeaders(headers, recordHeaders, undefined, fork.id);
    return { ...message, headers };
  } catch {
    // A hostile message (throwing getter) is sent as the caller built it.
    return message;
  }
}

function withForkMessages(messages: unknown, fork: Fork): unknown {
  return Array.isArray(messages) ? messages.map((message) => withFork(message, fork)) : messages;
}

/** `send(record)`'s record with the fork in each message. */
function forkRecord(record: unknown, id: string): unknown {
  if (record === null || typeof record !== 'object') return record;
  const { messages } = record as { messages?: unknown };
  return Array.isArray(messages)
    ? { ...record, messages: withForkMessages(messages, forkOf(id)) }
    : record;
}

/** `sendBatch(batch)`'s batch with the fork in each message of each topic. */
function forkBatch(batch: unknown, id: string): unknown {
  if (batch === null || typeof batch !== 'object') return batch;
  const { topicMessages } = batch as { topicMessages?: unknown };
  if (!Array.isArray(topicMessages)) return batch;
  const fork = forkOf(id);
  return {
    ...batch,
    topicMessages: topicMessages.map((topic: unknown) => {
      if (topic === null || typeof topic !== 'object') return topic;
      const { messages } = topic as { messages?: unknown };
      return Array.isArray(messages)
        ? { ...topic, messages: withForkMessages(messages, fork) }
        : topic;
    }),
  };
}

/** Wraps `send` and `sendBatch` of a producer or transaction in place. */
function wrapSender(sender: object): void {
  wrapMethod(
    sender,
    'send',
    (send) =>
      function forkSend(this: unknown, record: unknown, ...rest: unknown[]) {
        const id = getForkId();
        return send.call(this, id === undefined ? record : forkRecord(record, id), ...rest);
      },
  );
  wrapMethod(
    sender,
    'sendBatch',
    (sendBatch) =>
      function forkSendBatch(this: unknown, batch: unknown, ...rest: unknown[]) {
        const id = getForkId();
        return sendBatch.call(this, id === undefined ? batch : forkBatch(batch, id), ...rest);
      },
  );
}

/**
 * Makes a KafkaJS producer carry the current fork: every message sent inside a fork (with
 * `send`, `sendBatch`, or a transaction's `send`/`sendBatch`) gets the fork header, e.g.
 * `x-fork-identifier: alice`, exactly once, and our member in its `baggage` header, other
 * members kept. A header the caller set on a message wins and is never duplicated. Outside a
 * fork messages go out untouched. The fork is the one current when `send` is called.
 *
 * Wraps the producer in place and returns it; wrapping twice is harmless. The caller's record
 * and message objects are never modified (the wrapper sends copies).
 *
 * Kafka topics have no URL, so `propagateTo` is not consulted: wrap only producers of your own
 * cluster.
 *
 * @example
 * import { Kafka } from 'kafkajs';
 * import { forkProducer } from '@kubefork/kafka';
 *
 * const producer = forkProducer(new Kafka({ brokers: ['kafka:9092'] }).producer());
 * await producer.connect();
 * await producer.send({ topic: 'orders', messages: [{ value: 'created' }] }); // carries the fork
 */
export function forkProducer<P extends ForkableSender>(producer: P): P {
  if (producer === null || typeof producer !== 'object') return producer;
  if (isWrapped(producer)) return producer;
  wrapSender(producer);
  wrapMethod(
    producer,
    'transaction',
    (transaction) =>
      function forkTransaction(this: unknown, ...args: unknown[]) {
        const result = transaction.apply(this, args);
        return Promise.resolve(result).then((opened: unknown) => {
          if (opened !== null && typeof opened === 'object' && !isWrapped(opened)) {
            wrapSender(opened);
            markWrapped(opened);
          }
          return opened;
        });
      },
  );
  markWrapped(producer);
  return producer;
}
