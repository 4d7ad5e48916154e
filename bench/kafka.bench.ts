// Produce + consume through a real Kafka broker (KRaft, Apache Kafka's jars from Maven Central,
// started here like the broker suites do), with and without @kubefork/kafka.
//
// Each run: a fresh topic and consumer group; once the consumer has joined, BENCH_KAFKA_SENDERS
// concurrent senders send BENCH_KAFKA_MESSAGES messages in batches of BENCH_KAFKA_BATCH, and the
// window closes when the consumer has handled the last one. Reported per variant (medians over
// interleaved rounds): messages/s end to end and this process's CPU µs per message (producer and
// consumer both run here; the broker is another process). Then kubefork ÷ bare per round.
//
// Variants: `bare` (plain KafkaJS producer and consumer, no fork anywhere) and `kubefork`
// (`forkProducer` + `forkConsumer`, every sender inside its own fork, so every message carries
// a fork header and a baggage member, and every message is handled in its fork). A run that does
// not propagate is not a result: kubefork's consumer must see each message's own fork, bare's
// none; any miss marks the run invalid and the benchmark exits non-zero.
//
// Needs Java 17 and Maven (or KUBEFORK_KAFKA_LIBS), like `pnpm test:brokers`.
//
//   pnpm bench kafka
//   BENCH_QUICK=1 pnpm bench kafka

import { getForkId, runWithForkId } from '@kubefork/context';
import { forkConsumer, forkProducer } from '@kubefork/kafka';
import type { Kafka } from 'kafkajs';
import { startKafka } from '../packages/kafka/test/support/broker.js';
import { median } from './support/table.js';

const QUICK = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 5));
const MESSAGES = Number(process.env.BENCH_KAFKA_MESSAGES ?? (QUICK ? 2_000 : 30_000));
const BATCH = Number(process.env.BENCH_KAFKA_BATCH ?? 10);
const SENDERS = Number(process.env.BENCH_KAFKA_SENDERS ?? 20);
const PARTITIONS = 4;

type Variant = 'bare' | 'kubefork';
const VARIANTS: Variant[] = ['bare', 'kubefork'];

interface Run {
  variant: Variant;
  round: number;
  perSecond: number;
  cpuPerMessage: number;
  misses: number;
}

let topics = 0;

async function runOnce(
  kafka: Kafka,
  variant: Variant,
  round: number,
  createTopic: (name: string) => Promise<void>,
): Promise<Run> {
  const topic = `bench-${variant}-${++topics}`;
  await createTopic(topic);
  const forked = variant === 'kubefork';
  const rawProducer = kafka.producer();
  const producer = forked ? forkProducer(rawProducer) : rawProducer;
  const rawConsumer = kafka.consumer({ groupId: `${topic}-group` });
  const consumer = forked ? forkConsumer(rawConsumer) : rawConsumer;
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
      if (getForkId() !== expected) misses++;
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
      forked ? runWithForkId(`sender-${index}`, () => sender(index)) : sender(index),
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
const ratios = (pick: (run: Run) => number) => {
  const values = of('kubefork').map((run) => {
    const bare = of('bare').find((other) => other.round === run.round);
    return bare === undefined ? Number.NaN : pick(run) / pick(bare);
  });
  return `${median(values).toFixed(3)} (${Math.min(...values).toFixed(3)}–${Math.max(...values).toFixed(3)})`;
};
lines.push(
  '',
  '| kubefork ÷ bare, per round | median (min–max) |',
  '|---|---:|',
  `| msg/s | ${ratios((run) => run.perSecond)} |`,
  `| CPU µs per message | ${ratios((run) => run.cpuPerMessage)} |`,
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
