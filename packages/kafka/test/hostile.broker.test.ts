// The bad-input corpus as Kafka message headers, through a real broker: every message is handled
// as baseline, `onInvalid` hears the reason the HTTP integrations report, nothing crashes, and
// every offset is committed.
import { configure, getForkId, type InvalidReason, runWithForkId } from '@kubefork/context';
import type { IHeaders, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fieldsOf,
  HOSTILE_INPUTS,
  type HostileInput,
} from '../../../test/support/hostile-inputs.js';
import { forkConsumer, forkProducer } from '../src/index.js';
import { type KafkaBroker, startKafka } from './support/broker.js';
import { consume } from './support/consume.js';

type Expected = { invalid: InvalidReason } | 'not-a-fork-id';

/**
 * What Kafka must make of an input. Kafka headers are bytes with no line syntax, so what HTTP's
 * parser refuses reaches us as one value: control characters are refused by validation
 * ('characters'), and a name with a space before the colon is simply another header.
 */
function expectedFor(input: HostileInput): Expected {
  if (input.name === 'CRLF injecting a second fork header') return { invalid: 'characters' };
  if (input.name === 'a value of spaces only') return { invalid: 'empty' };
  if (input.http === 'refused') {
    return input.name === 'a space before the colon' ? 'not-a-fork-id' : { invalid: 'characters' };
  }
  if (input.http === 'dropped') throw new Error(`no HTTP/1 outcome for ${input.name}`);
  return input.http;
}

/** The input's fields as KafkaJS headers: raw bytes, a repeated name as an array. */
function kafkaHeaders(input: HostileInput): IHeaders {
  const headers: Record<string, Buffer[]> = {};
  for (const [name, value] of fieldsOf(input)) {
    const key = typeof name === 'string' ? name : name.toString('latin1');
    const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
    const values = headers[key] ?? [];
    values.push(bytes);
    headers[key] = values;
  }
  return Object.fromEntries(
    Object.entries(headers).map(([key, values]) => [key, values.length === 1 ? values[0] : values]),
  );
}

const H = 'x-fork-identifier';
let broker: KafkaBroker;
let kafka: Kafka;
let handled: Map<string, { fork: string | undefined; reasons: string[] }>;
let committed: number;
const CONTROL = HOSTILE_INPUTS.length;

beforeAll(async () => {
  broker = await startKafka();
  kafka = broker.client();
  await broker.createTopics(['hostile']);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: 'hostile',
    messages: [
      ...HOSTILE_INPUTS.map((input, i) => ({ value: String(i), headers: kafkaHeaders(input) })),
      // A valid message last: the consumer is still up and forks still work after all of it.
      { value: String(CONTROL), headers: { [H]: 'alice' } },
    ],
  });
  await producer.disconnect();

  let reasons: string[] = [];
  configure({
    onInvalid: (_value, reason) => {
      reasons.push(reason);
      throw new Error('a throwing onInvalid must not fail the message');
    },
  });
  const { results, groupId } = await consume(
    kafka,
    'hostile',
    HOSTILE_INPUTS.length + 1,
    (message) => {
      const seen = { fork: getForkId(), reasons };
      reasons = [];
      return [message.value?.toString() ?? '', seen] as const;
    },
    { wrap: (consumer) => forkConsumer(consumer) },
  );
  configure();
  handled = new Map(results);
  const admin = kafka.admin();
  await admin.connect();
  const [offsets] = await admin.fetchOffsets({ groupId, topics: ['hostile'] });
  await admin.disconnect();
  committed = Number(offsets?.partitions[0]?.offset);
});

afterAll(async () => {
  configure();
  await broker?.stop();
});

describe('hostile header values on consumed messages', () => {
  it.each(HOSTILE_INPUTS.map((input, i) => [input.name, input, i] as const))(
    '%s: handled as baseline',
    (_name, input, i) => {
      const seen = handled.get(String(i));
      const expected = expectedFor(input);
      expect(seen?.fork).toBeUndefined();
      expect(seen?.reasons).toEqual(expected === 'not-a-fork-id' ? [] : [expected.invalid]);
    },
  );

  it('handles the valid message after them in its fork', () => {
    expect(handled.get(String(CONTROL))).toEqual({ fork: 'alice', reasons: [] });
  });

  it('commits every message', () => {
    expect(committed).toBe(HOSTILE_INPUTS.length + 1);
  });
});

describe('hostile input on the producing side', () => {
  it('leaves a record it cannot read to KafkaJS, which refuses it as it would without kubefork', async () => {
    const plain = kafka.producer();
    const forked = forkProducer(kafka.producer());
    await Promise.all([plain.connect(), forked.connect()]);
    try {
      const bad = { topic: 'hostile', messages: 'not an array' } as never;
      const [expected, actual] = await Promise.all([
        plain.send(bad).then(
          () => 'sent',
          (error: Error) => error.message,
        ),
        runWithForkId('alice', () =>
          forked.send(bad).then(
            () => 'sent',
            (error: Error) => error.message,
          ),
        ),
      ]);
      expect(actual).toBe(expected);
      expect(actual).not.toBe('sent');
    } finally {
      await Promise.all([plain.disconnect(), forked.disconnect()]);
    }
  });

  it('keeps an invalid fork header the caller set and adds no baggage member for it', async () => {
    await broker.createTopics(['hostile-out']);
    const producer = forkProducer(kafka.producer());
    await producer.connect();
    await runWithForkId('alice', () =>
      producer.send({
        topic: 'hostile-out',
        messages: [{ value: 'x', headers: { [H]: '../etc', baggage: 'userId=1' } }],
      }),
    );
    await producer.disconnect();
    const { results } = await consume(kafka, 'hostile-out', 1, (message) =>
      Object.fromEntries(
        Object.entries(message.headers ?? {}).map(([key, value]) => [key, String(value)]),
      ),
    );
    expect(results).toEqual([{ [H]: '../etc', baggage: 'userId=1' }]);
  });
});
