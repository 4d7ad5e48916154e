// Produce + consume through a real Kafka broker (KRaft, Apache Kafka's jars from Maven Central,
// started here like the broker suites do), with and without @kubefork/kafka.
//
// Each run: a fresh topic and consumer group; once the consumer has joined, BENCH_KAFKA_SENDERS
// concurrent senders send BENCH_KAFKA_MESSAGES messages in batches of BENCH_KAFKA_BATCH, and the
// window closes when the consumer has handled the last one. Reported per variant (medians over
// interleaved rounds): messages/s end to end and this process's CPU µs per message (producer and
// consumer both run here; the broker is another process). Then, per round, kubefork ÷ bare,
// kubefork ÷ minimum and minimum ÷ bare.
//
// Variants, measured interleaved:
// - `bare`: plain KafkaJS producer and consumer, no fork anywhere;
// - `minimum`: the floor of propagation, hand-written: an `AsyncLocalStorage` per sender, the
//   producer adds one header to each message (no copy, no baggage, no validation), the consumer
//   runs each handler in `storage.run(header)`;
// - `kubefork`: `forkProducer` + `forkConsumer`, every sender inside its own fork, so every
//   message carries the fork header and a baggage member and is handled in its fork.
// A run that does not propagate is not a result: the consumer of `minimum` and `kubefork` must
// see each message's own fork, bare's none; any miss marks the run invalid and the benchmark
// exits non-zero.
//
// Needs Java 17 and Maven (or KUBEFORK_KAFKA_LIBS), like `pnpm test:brokers`.
//
//   pnpm bench kafka
//   BENCH_QUICK=1 pnpm bench kafka

import { AsyncLocalStorage } from 'node:async_hooks';
import { getForkId, runWithForkId } from '@kubefork/context';
import { forkConsumer, forkProducer } from '@kubefork/kafka';
import type { Consumer, EachMessagePayload, Kafka, Producer, ProducerRecord } from 'kafkajs';
import { startKafka } from '../packages/kafka/test/support/broker.js';
import { median } from './support/table.js';

const QUICK = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 5));
const MESSAGES = Number(process.env.BENCH_KAFKA_MESSAGES ?? (QUICK ? 2_000 : 30_000));
const BATCH = Number(process.env.BENCH_KAFKA_BATCH ?? 10);
const SENDERS = Number(process.env.BENCH_KAFKA_SENDERS ?? 20);
const PARTITIONS = 4;

type Variant = 'bare' | 'minimum' | 'kubefork';
const VARIANTS = (['bare', 'minimum', 'kubefork'] as const).filter(
  (variant) =>
    !process.env.BENCH_VARIANTS || process.env.BENCH_VARIANTS.split(',').includes(variant),
);

interface Run {
  variant: Variant;
  round: number;
  perSecond: number;
  cpuPerMessage: number;
  misses: number;
}

let topics = 0;

/** The `minimum` variant's own context: the least any propagation must do. */
const minimal = new AsyncLocalStorage<string>();

function minimumProducer(producer: Producer): Producer {
  const send = producer.send;
  producer.send = (record: ProducerRecord) => {
    const id = minimal.getStore();
    if (id !== undefined) {
      for (const message of record.messages) message.headers = { 'x-fork-identifier': id };
    }
    return send(record);
  };
  return producer;
}

function minimumConsumer(consumer: Consumer): Consumer {
  const run = consumer.run;
  consumer.run = (config) => {
    const eachMessage = config?.eachMessage;
    if (eachMessage === undefined) return run(config);
    return run({
      ...config,
      eachMessage: (payload: EachMessagePayload) =>
        minimal.run(String(payload.message.headers?.['x-fork-identifier'] ?? ''), () =>
          eachMessage(payload),
        ),
    });
  };
  return consumer;
}

const wrapProducer: Record<Variant, (producer: Producer) => Producer> = {
  bare: (producer) => producer,
  minimum: minimumProducer,
  kubefork: forkProducer,
};
const wrapConsumer: Record<Variant, (consumer: Consumer) => Consumer> = {
  bare: (consumer) => consumer,
  minimum: minimumConsumer,
  kubefork: (consumer) => forkConsumer(consumer),
};
const currentFork: Record<Variant, () => string | undefined> = {
  bare: getForkId,
  minimum: () => minimal.getStore(),
  kubefork: getForkId,
};
const inFork: Record<Variant, <T>(id: string, fn: () => T) => T> = {
  bare: (_id, fn) => fn(),
  minimum: (id, fn) => minimal.run(id, fn),
  kubefork: (id, fn) => runWithForkId(id, fn),
};

async function runOnce(
  kafka: Kafka,
  variant: Variant,
  round: number,
  createTopic: (name: string) => Promise<void>,
): Promise<Run> {
  const topic = `bench-${variant}-${++topics}`;
  await createTopic(topic);
  const forked = variant !== 'bare';
  const producer = wrapProducer[variant](kafka.producer());
  const consumer = wrapConsumer[variant](kafka.consumer({ groupId: `${topic}-group` }));
  const fork = currentFork[variant];
  await Promise.all([producer.connect(), consumer.connect()]);
  await consumer.subscribe({ topics: [topic], fromBeginning: true });

  let consumed = 0;
  let misses = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const joined = new Promise<void>((resolve) =>
    consumer.on(consumer.events.GROUP_JOIN, () => resolve()),
  );
  await consumer.run({
    partitionsConsumedConcurrently: PARTITIONS,
    eachMessage: async ({ message }) => {
      // The value is the sender's number: kubefork must hand over exactly that sender's fork.
      const expected = forked ? `sender-${message.value?.toString()}` : undefined;
      if (fork() !== expected) misses++;
      if (++consumed === MESSAGES) done();
    },
  });
  await joined;

  const cpu = process.cpuUsage();
  const started = performance.now();
  const perSender = Math.ceil(MESSAGES / BATCH / SENDERS);
  let remaining = MESSAGES;
  async function sender(index: number): Promise<void> {
    const messages = Array.from({ length: BATCH }, () => ({
      key: String(index),
      value: String(index),
    }));
    for (let i = 0; i < perSender && remaining > 0; i++) {
      const count = Math.min(BATCH, remaining);
      remaining -= count;
      await producer.send({
        topic,
        messages: count === BATCH ? messages : messages.slice(0, count),
      });
    }
  }
  await Promise.all(
    Array.from({ length: SENDERS }, (_, index) =>
      inFork[variant](`sender-${index}`, () => sender(index)),
    ),
  );
  await finished;
  const elapsed = performance.now() - started;
  const used = process.cpuUsage(cpu);
  await Promise.all([producer.disconnect(), consumer.disconnect()]);
  return {
    variant,
    round,
    perSecond: (MESSAGES / elapsed) * 1000,
    cpuPerMessage: (used.user + used.system) / MESSAGES,
    misses: misses + Math.max(0, consumed - MESSAGES),
  };
}

const broker = await startKafka();
const runs: Run[] = [];
try {
  const kafka = broker.client('kubefork-bench');
  const createTopic = (name: string) => broker.createTopics([name], PARTITIONS);
  // One unmeasured run per variant: JIT warm-up of KafkaJS and the broker.
  for (const variant of VARIANTS) await runOnce(kafka, variant, 0, createTopic);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const variant of VARIANTS) runs.push(await runOnce(kafka, variant, round, createTopic));
  }
} finally {
  await broker.stop();
}

const of = (variant: Variant) => runs.filter((run) => run.variant === variant);
const lines = [
  `#### Kafka produce + consume, KafkaJS, one KRaft broker (Node ${process.versions.node}, ${ROUNDS} interleaved rounds, ${MESSAGES} messages per run, batches of ${BATCH}, ${SENDERS} senders, ${PARTITIONS} partitions)`,
  '',
  '| variant | msg/s (median) | min–max | CPU µs/msg (median) | min–max |',
  '|---|---:|---:|---:|---:|',
];
for (const variant of VARIANTS) {
  const rate = of(variant).map((run) => run.perSecond);
  const cpu = of(variant).map((run) => run.cpuPerMessage);
  lines.push(
    `| ${variant} | ${median(rate).toFixed(0)} | ${Math.min(...rate).toFixed(0)}–${Math.max(...rate).toFixed(0)} | ${median(cpu).toFixed(1)} | ${Math.min(...cpu).toFixed(1)}–${Math.max(...cpu).toFixed(1)} |`,
  );
}
/** `variant`'s figure divided by `base`'s of the same round: median (min–max) over rounds. */
function ratio(variant: Variant, base: Variant, pick: (run: Run) => number): string {
  const values = of(variant).flatMap((run) => {
    const other = of(base).find((candidate) => candidate.round === run.round);
    return other === undefined ? [] : [pick(run) / pick(other)];
  });
  if (values.length === 0) return '–';
  return `${median(values).toFixed(3)} (${Math.min(...values).toFixed(3)}–${Math.max(...values).toFixed(3)})`;
}
const pairs: Array<[Variant, Variant]> = [
  ['kubefork', 'bare'],
  ['kubefork', 'minimum'],
  ['minimum', 'bare'],
];
lines.push(
  '',
  '| per round | msg/s ratio, median (min–max) | CPU µs/msg ratio, median (min–max) |',
  '|---|---:|---:|',
  ...pairs.map(
    ([variant, base]) =>
      `| ${variant} ÷ ${base} | ${ratio(variant, base, (run) => run.perSecond)} | ${ratio(variant, base, (run) => run.cpuPerMessage)} |`,
  ),
);
const invalid = runs.filter((run) => run.misses > 0);
for (const run of invalid) {
  lines.push(
    '',
    `**invalid run**: ${run.variant} round ${run.round}: ${run.misses} message(s) handled in the wrong fork`,
  );
}
console.log(lines.join('\n'));
process.exit(invalid.length > 0 ? 1 : 0);
