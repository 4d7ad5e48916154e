// Consumes a topic from the beginning until `count` messages were handled, with a fresh consumer
// group each time, and gives back what the handler returned for each message, in arrival order.
import type { Consumer, EachBatchPayload, EachMessagePayload, Kafka, KafkaMessage } from 'kafkajs';

export interface ConsumeOptions {
  /** Wrap the consumer before `run` (e.g. `(c) => forkConsumer(c, { trust })`); default none. */
  wrap?: (consumer: Consumer) => Consumer;
  /** Use `eachBatch` and hand each message to `handle`; default `eachMessage`. */
  batch?: boolean;
  partitionsConsumedConcurrently?: number;
  /** Called inside `run`'s caller context, e.g. to check that a fork there does not leak. */
  runIn?: <T>(fn: () => T) => T;
  timeoutMs?: number;
}

let groups = 0;

export async function consume<T>(
  kafka: Kafka,
  topic: string,
  count: number,
  handle: (message: KafkaMessage, payload: EachMessagePayload | EachBatchPayload) => Promise<T> | T,
  options: ConsumeOptions = {},
): Promise<{ results: T[]; groupId: string }> {
  const groupId = `group-${process.pid}-${++groups}`;
  const raw = kafka.consumer({ groupId, retry: { retries: 2 } });
  const consumer = options.wrap ? options.wrap(raw) : raw;
  await consumer.connect();
  const results: T[] = [];
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`consumed ${results.length} of ${count} messages of ${topic}`)),
        options.timeoutMs ?? 30_000,
      );
      const record = (result: T) => {
        results.push(result);
        if (results.length === count) {
          clearTimeout(timer);
          resolve();
        }
      };
      const start = () =>
        consumer.run({
          partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
          ...(options.batch
            ? {
                eachBatch: async (payload: EachBatchPayload) => {
                  for (const message of payload.batch.messages) {
                    record(await handle(message, payload));
                    payload.resolveOffset(message.offset);
                  }
                },
              }
            : {
                eachMessage: async (payload: EachMessagePayload) => {
                  record(await handle(payload.message, payload));
                },
              }),
        });
      (options.runIn ? options.runIn(start) : start()).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return { results, groupId };
}

/** Every value of header `name` (exact key) as text: one entry per header on the wire. */
export function headerValues(message: KafkaMessage, name: string): string[] {
  const value = message.headers?.[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((item) => item.toString());
}
