// Producing and consuming through a real Kafka broker (KRaft, started by support/broker.ts).
import { configure, getForkId, runWithForkId } from '@kubefork/context';
import type { Kafka, Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isRunning } from '../../../test/support/processes.js';
import { forkConsumer, forkProducer, runInMessageFork } from '../src/index.js';
import { type KafkaBroker, startKafka } from './support/broker.js';
import { consume, headerValues } from './support/consume.js';

const H = 'x-fork-identifier';

let broker: KafkaBroker;
let kafka: Kafka;
let producer: Producer;
let topics = 0;

/** A fresh topic per test, so each test reads only its own messages. */
async function topic(partitions = 1): Promise<string> {
  const name = `propagation-${++topics}`;
  await broker.createTopics([name], partitions);
  return name;
}

beforeAll(async () => {
  broker = await startKafka();
  kafka = broker.client();
  producer = forkProducer(kafka.producer());
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await broker?.stop();
  if (broker) expect(isRunning(broker.pid)).toBe(false);
});

afterEach(() => configure());

describe('producing', () => {
  it('adds the fork header once and our baggage member to each message sent inside a fork', async () => {
    const name = await topic();
    await runWithForkId('alice', () =>
      producer.send({ topic: name, messages: [{ value: 'a' }, { value: 'b', headers: {} }] }),
    );
    const { results } = await consume(kafka, name, 2, (message) => ({
      fork: headerValues(message, H),
      baggage: headerValues(message, 'baggage'),
    }));
    expect(results).toEqual([
      { fork: ['alice'], baggage: [`${H}=alice`] },
      { fork: ['alice'], baggage: [`${H}=alice`] },
    ]);
  });

  it('sends messages outside a fork untouched', async () => {
    const name = await topic();
    await runWithForkId(undefined, () =>
      producer.send({ topic: name, messages: [{ value: 'a', headers: { other: 'x' } }] }),
    );
    const { results } = await consume(kafka, name, 1, (message) =>
      Object.keys(message.headers ?? {}),
    );
    expect(results).toEqual([['other']]);
  });

  it('keeps a fork header the caller set, as a string, a Buffer or in other case, and never adds a second', async () => {
    const name = await topic();
    await runWithForkId('alice', () =>
      producer.send({
        topic: name,
        messages: [
          { value: 'string', headers: { [H]: 'bob' } },
          { value: 'buffer', headers: { [H]: Buffer.from('carol') } },
          { value: 'case', headers: { 'X-Fork-Identifier': 'dave' } },
        ],
      }),
    );
    const { results } = await consume(kafka, name, 3, (message) => ({
      value: message.value?.toString(),
      headers: Object.fromEntries(
        Object.keys(message.headers ?? {}).map((key) => [key, headerValues(message, key)]),
      ),
    }));
    expect(results).toEqual([
      { value: 'string', headers: { [H]: ['bob'], baggage: [`${H}=bob`] } },
      { value: 'buffer', headers: { [H]: ['carol'], baggage: [`${H}=carol`] } },
      { value: 'case', headers: { 'X-Fork-Identifier': ['dave'], baggage: [`${H}=dave`] } },
    ]);
  });

  it('merges our member into the baggage the caller set, keeping the other members', async () => {
    const name = await topic();
    await runWithForkId('alice', () =>
      producer.send({
        topic: name,
        messages: [{ value: 'a', headers: { baggage: `userId=42,${H}=bob,tier=gold` } }],
      }),
    );
    const { results } = await consume(kafka, name, 1, (message) =>
      headerValues(message, 'baggage'),
    );
    expect(results).toEqual([[`${H}=alice,userId=42,tier=gold`]]);
  });

  it('writes the configured header name', async () => {
    configure({ header: 'x-tenant-fork', baggageKey: null });
    const name = await topic();
    await runWithForkId('alice', () => producer.send({ topic: name, messages: [{ value: 'a' }] }));
    const { results } = await consume(kafka, name, 1, (message) => ({
      keys: Object.keys(message.headers ?? {}),
      fork: headerValues(message, 'x-tenant-fork'),
    }));
    expect(results).toEqual([{ keys: ['x-tenant-fork'], fork: ['alice'] }]);
  });

  it('never modifies the caller’s record or messages, so a reused message follows the next fork', async () => {
    const name = await topic();
    const message = { value: 'reused', headers: { other: 'x' } };
    const record = { topic: name, messages: [message] };
    await runWithForkId('alice', () => producer.send(record));
    await runWithForkId('bob', () => producer.send(record));
    expect(message).toEqual({ value: 'reused', headers: { other: 'x' } });
    expect(record.messages[0]).toBe(message);
    const { results } = await consume(kafka, name, 2, (m) => headerValues(m, H));
    expect(results).toEqual([['alice'], ['bob']]);
  });

  it('adds the fork in sendBatch, to every message of every topic', async () => {
    const [first, second] = [await topic(), await topic()];
    await runWithForkId('alice', () =>
      producer.sendBatch({
        topicMessages: [
          { topic: first, messages: [{ value: '1' }, { value: '2' }] },
          { topic: second, messages: [{ value: '3', headers: { [H]: 'bob' } }] },
        ],
      }),
    );
    const one = await consume(kafka, first, 2, (m) => headerValues(m, H));
    const two = await consume(kafka, second, 1, (m) => headerValues(m, H));
    expect(one.results).toEqual([['alice'], ['alice']]);
    expect(two.results).toEqual([['bob']]);
  });

  it('adds the fork in a transaction’s send and sendBatch', async () => {
    const name = await topic();
    const transactional = forkProducer(
      kafka.producer({ transactionalId: `tx-${name}`, idempotent: true, maxInFlightRequests: 1 }),
    );
    await transactional.connect();
    try {
      const transaction = await runWithForkId('alice', () => transactional.transaction());
      await runWithForkId('bob', () =>
        transaction.send({ topic: name, messages: [{ value: 'send' }] }),
      );
      await runWithForkId('carol', () =>
        transaction.sendBatch({ topicMessages: [{ topic: name, messages: [{ value: 'batch' }] }] }),
      );
      await transaction.commit();
    } finally {
      await transactional.disconnect();
    }
    const { results } = await consume(kafka, name, 2, (m) => [
      m.value?.toString(),
      headerValues(m, H),
      headerValues(m, 'baggage'),
    ]);
    expect(results).toEqual([
      ['send', ['bob'], [`${H}=bob`]],
      ['batch', ['carol'], [`${H}=carol`]],
    ]);
  });

  it('wraps once however often it is applied', async () => {
    const name = await topic();
    const twice = forkProducer(forkProducer(producer));
    expect(twice).toBe(producer);
    await runWithForkId('alice', () => twice.send({ topic: name, messages: [{ value: 'a' }] }));
    const { results } = await consume(kafka, name, 1, (m) => ({
      fork: headerValues(m, H),
      baggage: headerValues(m, 'baggage'),
    }));
    expect(results).toEqual([{ fork: ['alice'], baggage: [`${H}=alice`] }]);
  });
});

describe('consuming', () => {
  it('runs eachMessage in the message’s fork, also after an await, and baseline without one', async () => {
    const name = await topic();
    await runWithForkId('alice', () => producer.send({ topic: name, messages: [{ value: 'a' }] }));
    await producer.send({ topic: name, messages: [{ value: 'none' }] });
    const { results } = await consume(
      kafka,
      name,
      2,
      async () => {
        const before = getForkId();
        await new Promise((resolve) => setTimeout(resolve, 1));
        return [before, getForkId()];
      },
      // `run` called inside a fork: that fork must not reach messages without one.
      { wrap: (c) => forkConsumer(c), runIn: (fn) => runWithForkId('outer', fn) },
    );
    expect(results).toEqual([
      ['alice', 'alice'],
      [undefined, undefined],
    ]);
  });

  it('reads aliases and the baggage member, header first', async () => {
    configure({ aliases: ['x-fork-identifer'] });
    const name = await topic();
    await producer.send({
      topic: name,
      messages: [
        { value: 'alias', headers: { 'x-fork-identifer': 'bob' } },
        { value: 'baggage', headers: { baggage: `userId=1,${H}=carol` } },
        { value: 'both', headers: { [H]: 'dave', baggage: `${H}=erin` } },
        { value: 'array', headers: { [H]: ['frank', Buffer.from('frank')] } },
      ],
    });
    const { results } = await consume(kafka, name, 4, () => getForkId(), {
      wrap: (c) => forkConsumer(c),
    });
    expect(results).toEqual(['bob', 'carol', 'dave', 'frank']);
  });

  it('handles untrusted messages as baseline', async () => {
    const name = await topic();
    await producer.send({
      topic: name,
      messages: [
        { value: 'a', headers: { [H]: 'alice', source: 'partner' } },
        { value: 'b', headers: { [H]: 'bob', source: 'internal' } },
      ],
    });
    const trust = (message: { headers?: unknown }) =>
      String((message.headers as Record<string, unknown>).source) === 'internal';
    const { results } = await consume(kafka, name, 2, () => getForkId(), {
      wrap: (c) => forkConsumer(c, { trust }),
    });
    expect(results).toEqual([undefined, 'bob']);
  });

  it('runs eachBatch as baseline and runInMessageFork in each message’s fork, with the consumer’s trust', async () => {
    const name = await topic();
    await producer.send({
      topic: name,
      messages: [
        { value: 'a', headers: { [H]: 'alice' } },
        { value: 'b' },
        { value: 'c', headers: { [H]: 'carol', untrusted: '1' } },
        { value: 'd', headers: { [H]: 'dave' } },
      ],
    });
    const trust = (message: { headers?: unknown }) =>
      (message.headers as Record<string, unknown>).untrusted === undefined;
    const { results } = await consume(
      kafka,
      name,
      4,
      (message) => {
        const outside = getForkId();
        return runInMessageFork(message, async () => {
          await new Promise((resolve) => setImmediate(resolve));
          return [outside, getForkId()];
        });
      },
      {
        batch: true,
        wrap: (c) => forkConsumer(c, { trust }),
        runIn: (fn) => runWithForkId('outer', fn),
      },
    );
    expect(results).toEqual([
      [undefined, 'alice'],
      [undefined, undefined],
      [undefined, undefined],
      [undefined, 'dave'],
    ]);
  });

  it('rejects unknown options and a trust that is not a function, naming them', () => {
    const consumer = kafka.consumer({ groupId: 'never-connected' });
    expect(() => forkConsumer(consumer, { trsut: () => true } as never)).toThrow(/trsut/);
    expect(() => forkConsumer(consumer, { trust: true } as never)).toThrow(TypeError);
  });
});

describe('isolation', () => {
  it('carries 1,000 messages with distinct forks through the broker, none mismatched', async () => {
    const name = await topic(4);
    const count = 1_000;
    // Sent concurrently, each from its own fork, so sends interleave in the producer.
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        runWithForkId(`fork-${i}`, () =>
          producer.send({ topic: name, messages: [{ key: String(i % 8), value: String(i) }] }),
        ),
      ),
    );
    const { results } = await consume(
      kafka,
      name,
      count,
      async (message) => {
        const expected = `fork-${message.value?.toString()}`;
        const before = getForkId();
        await new Promise((resolve) => setImmediate(resolve));
        return { expected, before, after: getForkId(), header: headerValues(message, H) };
      },
      { wrap: (c) => forkConsumer(c), partitionsConsumedConcurrently: 4, timeoutMs: 60_000 },
    );
    const mismatched = results.filter(
      (r) =>
        r.before !== r.expected ||
        r.after !== r.expected ||
        r.header.length !== 1 ||
        r.header[0] !== r.expected,
    );
    expect(results).toHaveLength(count);
    expect(new Set(results.map((r) => r.expected)).size).toBe(count);
    expect(mismatched).toEqual([]);
  });
});
