// Shared by the two load-order suites: OpenTelemetry's kafkajs instrumentation with kubefork's
// ForkPropagator, and @kubefork/kafka's wrappers, in one process, against a real broker. Every
// message must carry the fork header once and our baggage member once.
import { createRequire } from 'node:module';
import { configure, getForkId, type InvalidReason, runWithForkId } from '@kubefork/context';
import { ForkPropagator } from '@kubefork/otel';
import { context, propagation } from '@opentelemetry/api';
import * as core from '@opentelemetry/core';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import type { Kafka, KafkaMessage, Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { forkConsumer, forkProducer } from '../../src/index.js';
import { type KafkaBroker, startKafka } from './broker.js';
import { consume, headerValues } from './consume.js';

const H = 'x-fork-identifier';

interface Setup {
  broker: KafkaBroker;
  kafka: Kafka;
  exporter: InMemorySpanExporter;
  teardown(): Promise<void>;
}

function startOtel(): { exporter: InMemorySpanExporter; stop(): Promise<void> } {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register({
    propagator: new core.CompositePropagator({
      propagators: [
        new core.W3CTraceContextPropagator(),
        new core.W3CBaggagePropagator(),
        new ForkPropagator(),
      ],
    }),
  });
  const instrumentation = new KafkaJsInstrumentation();
  return {
    exporter,
    async stop() {
      instrumentation.disable();
      await provider.shutdown();
      propagation.disable();
      context.disable();
    },
  };
}

/**
 * The kafkajs module through `require`, where OpenTelemetry's hook patches it (`Kafka.prototype`
 * is shared with the ESM import the broker harness uses, so every client is instrumented).
 */
function requireKafkajs(): typeof import('kafkajs') {
  return createRequire(import.meta.url)('kafkajs') as typeof import('kafkajs');
}

/**
 * Sets up OpenTelemetry (the README's setup of @kubefork/otel plus the kafkajs instrumentation)
 * and @kubefork/kafka in the given order. OpenTelemetry wraps a producer's and a consumer's
 * methods when the client creates them, so `forkProducer`/`forkConsumer`, applied to a created
 * client, always wrap outside it; the order decides which of the two saw kafkajs first.
 */
async function setUp(order: 'otel-first' | 'kubefork-first'): Promise<Setup> {
  let otel: ReturnType<typeof startOtel> | undefined;
  if (order === 'otel-first') otel = startOtel();
  configure();
  const broker = await startKafka();
  requireKafkajs();
  otel ??= startOtel();
  // A require after the instrumentation is enabled is where its hook patches kafkajs.
  const { Kafka: KafkaClass } = requireKafkajs();
  const instrumented = new KafkaClass({ brokers: [broker.address], logLevel: 0 });
  const started = otel;
  return {
    broker,
    kafka: instrumented,
    exporter: started.exporter,
    async teardown() {
      await broker.stop();
      await started.stop();
    },
  };
}

function wireHeaders(message: KafkaMessage) {
  const members = headerValues(message, 'baggage')
    .flatMap((line) => line.split(','))
    .filter((member) => member.trim().startsWith(`${H}=`));
  return {
    fork: headerValues(message, H),
    baggageLines: headerValues(message, 'baggage').length,
    members,
    traced: headerValues(message, 'traceparent').length === 1,
  };
}

/** Registers the exactly-once suite for `order`. */
export function describeExactlyOnce(order: 'otel-first' | 'kubefork-first'): void {
  let setup: Setup;
  let producer: Producer;
  let topics = 0;
  const topic = async () => {
    const name = `${order}-${++topics}`;
    await setup.broker.createTopics([name]);
    return name;
  };

  beforeAll(async () => {
    setup = await setUp(order);
    producer = forkProducer(setup.kafka.producer());
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await setup?.teardown();
  });

  afterEach(() => configure());

  it('sends the fork header once and our baggage member once, traced by OpenTelemetry', async () => {
    const name = await topic();
    await runWithForkId('alice', () =>
      producer.send({ topic: name, messages: [{ value: 'a' }, { value: 'b', headers: {} }] }),
    );
    await runWithForkId('bob', () =>
      producer.sendBatch({ topicMessages: [{ topic: name, messages: [{ value: 'c' }] }] }),
    );
    const { results } = await consume(setup.kafka, name, 3, wireHeaders);
    expect(results).toEqual([
      { fork: ['alice'], baggageLines: 1, members: [`${H}=alice`], traced: true },
      { fork: ['alice'], baggageLines: 1, members: [`${H}=alice`], traced: true },
      { fork: ['bob'], baggageLines: 1, members: [`${H}=bob`], traced: true },
    ]);
    expect(setup.exporter.getFinishedSpans().some((span) => span.name === `send ${name}`)).toBe(
      true,
    );
  });

  it('sends a fork that only OpenTelemetry baggage carries once, other members kept', async () => {
    const name = await topic();
    const baggage = propagation.createBaggage({
      [H]: { value: 'carol' },
      userId: { value: '42' },
    });
    await context.with(propagation.setBaggage(context.active(), baggage), () =>
      producer.send({ topic: name, messages: [{ value: 'a' }] }),
    );
    const { results } = await consume(setup.kafka, name, 1, (message) => ({
      ...wireHeaders(message),
      userId: headerValues(message, 'baggage').join().includes('userId=42'),
    }));
    expect(results).toEqual([
      { fork: ['carol'], baggageLines: 1, members: [`${H}=carol`], traced: true, userId: true },
    ]);
  });

  it('keeps the fork header the caller set, as a string or a Buffer', async () => {
    const name = await topic();
    await runWithForkId('alice', () =>
      producer.send({
        topic: name,
        messages: [
          { value: 'string', headers: { [H]: 'bob' } },
          { value: 'buffer', headers: { [H]: Buffer.from('dave') } },
        ],
      }),
    );
    const { results } = await consume(setup.kafka, name, 2, wireHeaders);
    expect(results).toEqual([
      { fork: ['bob'], baggageLines: 1, members: [`${H}=bob`], traced: true },
      { fork: ['dave'], baggageLines: 1, members: [`${H}=dave`], traced: true },
    ]);
  });

  it('consumes in the message’s fork and forwards it once to the next topic', async () => {
    const [first, second] = [await topic(), await topic()];
    await runWithForkId('alice', () => producer.send({ topic: first, messages: [{ value: 'a' }] }));
    const { results: forks } = await consume(
      setup.kafka,
      first,
      1,
      async (message) => {
        const fork = getForkId();
        await producer.send({ topic: second, messages: [{ value: message.value }] });
        return fork;
      },
      { wrap: (consumer) => forkConsumer(consumer) },
    );
    expect(forks).toEqual(['alice']);
    const { results } = await consume(setup.kafka, second, 1, wireHeaders);
    expect(results).toEqual([
      { fork: ['alice'], baggageLines: 1, members: [`${H}=alice`], traced: true },
    ]);
  });

  it('consumes an invalid fork as baseline and re-emits nothing', async () => {
    const reasons: InvalidReason[] = [];
    configure({ onInvalid: (_value, reason) => reasons.push(reason) });
    const [first, second] = [await topic(), await topic()];
    await producer.send({ topic: first, messages: [{ value: 'a', headers: { [H]: '../etc' } }] });
    const { results: forks } = await consume(
      setup.kafka,
      first,
      1,
      async (message) => {
        const fork = getForkId();
        await producer.send({ topic: second, messages: [{ value: message.value }] });
        return fork;
      },
      { wrap: (consumer) => forkConsumer(consumer) },
    );
    expect(forks).toEqual([undefined]);
    // Both readers see the value and report it: OpenTelemetry's ForkPropagator (extracting in
    // the instrumentation's eachMessage wrapper) and forkConsumer's (a limit in the README).
    expect(reasons).toEqual(['pattern', 'pattern']);
    const { results } = await consume(setup.kafka, second, 1, wireHeaders);
    expect(results).toEqual([{ fork: [], baggageLines: 0, members: [], traced: true }]);
  });
}
