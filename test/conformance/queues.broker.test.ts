// The QUEUE rows of the conformance table: producer → broker → consumer for RabbitMQ (amqplib),
// Kafka (kafkajs) and NATS, through real brokers started by the packages' own helpers. Every
// row runs the same cases. `pnpm test:brokers` (vitest.brokers.config.ts) runs this file.
import { setTimeout as sleep } from 'node:timers/promises';
import { forkChannel } from '@kubefork/amqp';
import { configure, getForkId, runWithForkId } from '@kubefork/context';
import { forkConsumer, forkProducer } from '@kubefork/kafka';
import { forkNats } from '@kubefork/nats';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { connect as natsConnect } from '@nats-io/transport-node';
import amqp from 'amqplib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRabbitMq } from '../../packages/amqp/test/rabbitmq.js';
import { startKafka } from '../../packages/kafka/test/support/broker.js';
import { consume } from '../../packages/kafka/test/support/consume.js';
import { startNats } from '../../packages/nats/test/nats-server.js';
import { type Fork, fork, forkIds, invalid } from './support.js';

const HEADER = 'x-fork-identifier';

/** One message to send: in `fork` (null: baseline), with headers the producer sets itself. */
interface Outgoing {
  fork: Fork;
  headers?: Record<string, string>;
}

/** What the consumer's handler saw for one message. */
interface Delivered {
  body: string;
  sync: Fork;
  afterAwait: Fork;
  timeout: Fork;
  header: string[];
  baggage: string[];
}

interface OpenQueue {
  /** Sends every message (body: its index), each in its fork, and consumes them all. */
  roundTrip(messages: readonly Outgoing[]): Promise<Delivered[]>;
  close(): Promise<void>;
}

interface QueueRow {
  name: string;
  start(): Promise<OpenQueue>;
}

/** Runs in the consumer's handler: the fork now, after await and in a timer. */
async function observe(body: string, header: string[], baggage: string[]): Promise<Delivered> {
  const sync = fork();
  await sleep(1);
  const afterAwait = fork();
  const timeout = await new Promise<Fork>((resolve) => setTimeout(() => resolve(fork()), 1));
  return { body, sync, afterAwait, timeout, header, baggage };
}

const send = <T>(id: Fork, fn: () => T): T => runWithForkId(id ?? undefined, fn);

function collector(count: number) {
  const delivered: Delivered[] = [];
  let done!: () => void;
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  return {
    delivered,
    all,
    add(one: Delivered) {
      delivered.push(one);
      if (delivered.length === count) done();
    },
  };
}

function texts(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.flatMap(texts);
  return [Buffer.isBuffer(value) ? value.toString('utf8') : String(value)];
}

const ROWS: readonly QueueRow[] = [
  {
    name: 'RabbitMQ (amqplib, forkChannel)',
    async start() {
      const broker = await startRabbitMq();
      const connection = await amqp.connect(broker.url);
      const producer = forkChannel(await connection.createChannel());
      const consumer = forkChannel(await connection.createChannel());
      return {
        async roundTrip(messages) {
          const { queue } = await consumer.assertQueue('', { exclusive: true });
          const seen = collector(messages.length);
          const { consumerTag } = await consumer.consume(queue, (message) => {
            if (message === null) return;
            const headers = message.properties.headers ?? {};
            observe(
              message.content.toString(),
              texts(headers[HEADER]),
              texts(headers.baggage),
            ).then((one) => {
              consumer.ack(message);
              seen.add(one);
            });
          });
          messages.forEach(({ fork: id, headers }, i) => {
            send(id, () => producer.sendToQueue(queue, Buffer.from(String(i)), { headers }));
          });
          await seen.all;
          await consumer.cancel(consumerTag);
          return seen.delivered;
        },
        async close() {
          await connection.close();
          await broker.stop();
        },
      };
    },
  },
  {
    name: 'Kafka (kafkajs, forkProducer/forkConsumer)',
    async start() {
      const broker = await startKafka();
      const kafka = broker.client();
      const producer = forkProducer(kafka.producer());
      await producer.connect();
      let topics = 0;
      return {
        async roundTrip(messages) {
          const topic = `conformance-${++topics}`;
          await broker.createTopics([topic], 1);
          await Promise.all(
            messages.map(({ fork: id, headers }, i) =>
              send(id, () => producer.send({ topic, messages: [{ value: String(i), headers }] })),
            ),
          );
          const { results } = await consume(
            kafka,
            topic,
            messages.length,
            (message) =>
              observe(
                message.value?.toString() ?? '',
                texts(message.headers?.[HEADER]),
                texts(message.headers?.baggage),
              ),
            { wrap: (consumer) => forkConsumer(consumer) },
          );
          return results;
        },
        async close() {
          await producer.disconnect();
          await broker.stop();
        },
      };
    },
  },
  {
    name: 'NATS (nats.js, forkNats)',
    async start() {
      const server = await startNats();
      const nc = forkNats(await natsConnect({ servers: server.servers }));
      let subjects = 0;
      return {
        async roundTrip(messages) {
          const subject = `conformance.${++subjects}`;
          const seen = collector(messages.length);
          const sub = nc.subscribe(subject, {
            callback: (_error, msg) => {
              const get = (name: string) =>
                msg.headers
                  ?.keys()
                  .flatMap((key) =>
                    key.toLowerCase() === name ? (msg.headers?.values(key) ?? []) : [],
                  ) ?? [];
              observe(msg.string(), get(HEADER), get('baggage')).then((one) => seen.add(one));
            },
          });
          await nc.flush();
          messages.forEach(({ fork: id, headers }, i) => {
            let h: ReturnType<typeof natsHeaders> | undefined;
            if (headers) {
              h = natsHeaders();
              for (const [name, value] of Object.entries(headers)) h.append(name, value);
            }
            send(id, () => nc.publish(subject, String(i), h ? { headers: h } : undefined));
          });
          await seen.all;
          sub.unsubscribe();
          return seen.delivered;
        },
        async close() {
          await nc.close();
          await server.stop();
        },
      };
    },
  },
];

beforeAll(() => {
  configure({ onInvalid: (value, reason) => invalid.push({ value, reason }) });
});

afterAll(() => configure());

beforeEach(() => {
  invalid.length = 0;
});

function byBody(delivered: readonly Delivered[]): Delivered[] {
  return [...delivered].sort((a, b) => Number(a.body) - Number(b.body));
}

describe.each(ROWS.map((row) => ({ row, name: row.name })))('$name', ({ row }) => {
  let queue: OpenQueue;

  beforeAll(async () => {
    queue = await row.start();
  });

  afterAll(async () => {
    await queue?.close();
  });

  it('carries the fork from the producer to the consumer, once in the header and in baggage', async () => {
    const [one] = await queue.roundTrip([{ fork: 'alice' }]);
    expect(one).toMatchObject({ sync: 'alice', afterAwait: 'alice', timeout: 'alice' });
    expect(one?.header).toEqual(['alice']);
    expect(one?.baggage).toEqual([`${HEADER}=alice`]);
  });

  it('consumes a message sent outside a fork as baseline, with no fork headers', async () => {
    const [one] = await queue.roundTrip([{ fork: null }]);
    expect(one).toMatchObject({ sync: null, afterAwait: null, timeout: null, header: [] });
  });

  it('adds nothing twice when the producer already set the fork', async () => {
    const [one] = await queue.roundTrip([
      { fork: 'alice', headers: { [HEADER]: 'alice', baggage: `other=1,${HEADER}=alice` } },
    ]);
    expect(one?.sync).toBe('alice');
    expect(one?.header).toEqual(['alice']);
    expect(one?.baggage).toHaveLength(1);
    expect(
      (one?.baggage[0] ?? '')
        .split(',')
        .map((m) => m.trim())
        .sort(),
    ).toEqual(['other=1', `${HEADER}=alice`]);
  });

  it('consumes an invalid fork id as baseline and reports it to onInvalid', async () => {
    const [one] = await queue.roundTrip([{ fork: null, headers: { [HEADER]: 'bad value' } }]);
    expect(one).toMatchObject({ sync: null, afterAwait: null, timeout: null });
    expect(invalid).toContainEqual({ value: 'bad value', reason: 'characters' });
  });

  it('keeps 20 interleaved messages in their own forks', async () => {
    const ids: Fork[] = [...forkIds(16), null, null, null, null];
    const delivered = byBody(await queue.roundTrip(ids.map((id) => ({ fork: id }))));
    expect(delivered).toHaveLength(ids.length);
    delivered.forEach((one, i) => {
      const id = ids[i] ?? null;
      expect([one.sync, one.afterAwait, one.timeout], `message ${i}`).toEqual([id, id, id]);
      expect(one.header, `message ${i}`).toEqual(id === null ? [] : [id]);
    });
    expect(getForkId()).toBeUndefined();
  });
});
