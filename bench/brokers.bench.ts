// Publish + consume through real brokers, with and without kubefork.
//
// One process publishes N messages to a queue (RabbitMQ, amqplib) or a subject (NATS, nats.js
// v3) and consumes them itself; a round ends when the last message has been handled (RabbitMQ:
// acked). Variants, interleaved over rounds:
//   bare      unwrapped channel / connection, no fork scope
//   kubefork  forkChannel / forkNats; every message published inside runWithForkId, so it
//             carries the header and the baggage member, and its handler runs in its fork
// Reported per broker: messages/s and this process's CPU µs per message (producer + consumer;
// the broker's own CPU is not counted), medians over rounds, and per round each variant ÷ bare
// and ÷ minimum.
// A kubefork round in which a handler did not see its fork (or a bare one that did) is invalid.
//
// The brokers are started here (Debian's rabbitmq-server and nats-server, see
// .ci/brokers/install-rabbitmq-nats.sh); without them this benchmark says so and measures nothing.
//
//   pnpm bench brokers
//   BENCH_QUICK=1 pnpm bench brokers

import { existsSync } from 'node:fs';
import { forkChannel } from '@kubefork/amqp';
import { getForkId, runWithForkId } from '@kubefork/context';
import { forkNats } from '@kubefork/nats';
import { headers } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import amqp from 'amqplib';
import { startRabbitMq } from '../packages/amqp/test/rabbitmq.js';
import { startNats } from '../packages/nats/test/nats-server.js';
import { median } from './support/table.js';

const QUICK = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 5));
const AMQP_MESSAGES = QUICK ? 500 : 20_000;
const NATS_MESSAGES = QUICK ? 1_000 : 100_000;
const FORKS = Array.from({ length: 64 }, (_, i) => `fork-${i}`);

type Variant = 'bare' | 'minimum' | 'kubefork';
const VARIANTS = ['bare', 'minimum', 'kubefork'] as const;
const H = 'x-fork-identifier';
interface Sample {
  perSecond: number;
  cpuMicros: number;
  /** Handlers that saw the wrong fork. */
  wrong: number;
}

/** Runs `round` and measures wall time and this process's CPU across it. */
async function measure(count: number, round: () => Promise<number>): Promise<Sample> {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const wrong = await round();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return { perSecond: count / seconds, cpuMicros: (used.user + used.system) / count, wrong };
}

/** The fork message `i` is published in (kubefork), or none (bare). */
const forkOf = (variant: Variant, i: number) =>
  variant === 'bare' ? undefined : FORKS[i % FORKS.length];

/** The minimum variant's hand-written AMQP headers for the current fork. */
function amqpHeaders(variant: Variant): { headers: Record<string, string> } | undefined {
  const id = variant === 'minimum' ? getForkId() : undefined;
  return id === undefined ? undefined : { headers: { [H]: id, baggage: `${H}=${id}` } };
}

/** The minimum variant's hand-written NATS headers for the current fork. */
function natsOptions(variant: Variant) {
  const id = variant === 'minimum' ? getForkId() : undefined;
  if (id === undefined) return undefined;
  const h = headers();
  h.set(H, id);
  h.set('baggage', `${H}=${id}`);
  return { headers: h };
}

/** Runs `handle` the way the variant runs a handler. */
function inFork(variant: Variant, id: string | undefined, handle: () => void): void {
  if (variant === 'minimum') runWithForkId(id, handle);
  else handle();
}

async function rabbitRounds(): Promise<Record<Variant, Sample[]>> {
  const broker = await startRabbitMq();
  const connection = await amqp.connect(broker.url);
  const samples: Record<Variant, Sample[]> = { bare: [], minimum: [], kubefork: [] };
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      for (const variant of VARIANTS) {
        const wrap = <C extends object>(channel: C) =>
          variant === 'kubefork' ? forkChannel(channel) : channel;
        const producer = wrap(await connection.createChannel());
        const consumer = wrap(await connection.createChannel());
        await consumer.prefetch(1000);
        const { queue } = await consumer.assertQueue('', { exclusive: true });
        const sample = await measure(AMQP_MESSAGES, async () => {
          let handled = 0;
          let wrong = 0;
          const done = new Promise<void>((resolve) => {
            void consumer.consume(queue, (message) => {
              if (message === null) return;
              const id = message.properties.headers?.[H] as string | undefined;
              inFork(variant, id, () => {
                if (getForkId() !== forkOf(variant, Number(message.content.toString()))) wrong++;
                consumer.ack(message);
                if (++handled === AMQP_MESSAGES) resolve();
              });
            });
          });
          for (let i = 0; i < AMQP_MESSAGES; i++) {
            const sent = runWithForkId(forkOf(variant, i), () =>
              producer.sendToQueue(queue, Buffer.from(String(i)), amqpHeaders(variant)),
            );
            if (!sent) await new Promise((resolve) => producer.once('drain', resolve));
          }
          await done;
          return wrong;
        });
        await producer.close();
        await consumer.close();
        // Round 0 warms up (JIT, broker) and is not counted.
        if (round > 0) samples[variant].push(sample);
      }
    }
  } finally {
    await connection.close();
    await broker.stop();
  }
  return samples;
}

async function natsRounds(): Promise<Record<Variant, Sample[]>> {
  const server = await startNats();
  const samples: Record<Variant, Sample[]> = { bare: [], minimum: [], kubefork: [] };
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      for (const variant of VARIANTS) {
        const plain = await connect({ servers: server.servers });
        const nc = variant === 'kubefork' ? forkNats(plain) : plain;
        const subject = `bench.${round}.${variant}`;
        const sample = await measure(NATS_MESSAGES, async () => {
          let handled = 0;
          let wrong = 0;
          const done = new Promise<void>((resolve) => {
            nc.subscribe(subject, {
              callback: (_error, msg) => {
                const id = variant === 'minimum' ? msg.headers?.get(H) : undefined;
                inFork(variant, id, () => {
                  if (getForkId() !== forkOf(variant, Number(msg.string()))) wrong++;
                  if (++handled === NATS_MESSAGES) resolve();
                });
              },
            });
          });
          await nc.flush();
          for (let i = 0; i < NATS_MESSAGES; i++) {
            runWithForkId(forkOf(variant, i), () =>
              nc.publish(subject, String(i), natsOptions(variant)),
            );
            // Let the consumer keep up: nats.js buffers publishes without limit.
            if (i % 1000 === 999) await nc.flush();
          }
          await done;
          return wrong;
        });
        await nc.close();
        if (round > 0) samples[variant].push(sample);
      }
    }
  } finally {
    await server.stop();
  }
  return samples;
}

const fmt = (value: number, digits = 0) => value.toFixed(digits);
function range(values: number[], digits = 2): string {
  return `${fmt(median(values), digits)} (${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)})`;
}

let invalid = 0;
const lines = [
  '#### Publish + consume through a real broker (one process, N messages per round; ratios per round: median (min–max))',
  '',
  '| broker | messages | variant | msg/s | CPU µs/msg | msg/s ÷ bare | CPU ÷ bare | msg/s ÷ minimum | CPU ÷ minimum |',
  '|---|---:|---|---:|---:|---:|---:|---:|---:|',
];
const brokers = [
  {
    name: 'RabbitMQ (amqplib)',
    messages: AMQP_MESSAGES,
    installed: existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server'),
    run: rabbitRounds,
  },
  {
    name: 'NATS (nats.js v3)',
    messages: NATS_MESSAGES,
    installed: ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].some(
      existsSync,
    ),
    run: natsRounds,
  },
];
const notes: string[] = [];
for (const broker of brokers) {
  if (!broker.installed) {
    lines.push(`| ${broker.name} | | not measured: broker not installed | | | | | | |`);
    continue;
  }
  const samples = await broker.run();
  for (const variant of VARIANTS) {
    const rows = samples[variant];
    /** Per round: this variant's msg/s and CPU per message ÷ `base`'s of the same round. */
    const ratios = (base: Variant): string[] => {
      if (base === variant) return ['1', '1'];
      const of = (pick: (sample: Sample) => number) =>
        range(rows.map((row, i) => pick(row) / pick(samples[base][i] ?? row)));
      return [of((sample) => sample.perSecond), of((sample) => sample.cpuMicros)];
    };
    const cells = [...ratios('bare'), ...(variant === 'bare' ? ['', ''] : ratios('minimum'))];
    lines.push(
      `| ${broker.name} | ${broker.messages} | ${variant} | ${fmt(median(rows.map((r) => r.perSecond)))} | ${fmt(median(rows.map((r) => r.cpuMicros)), 1)} | ${cells.join(' | ')} |`,
    );
    const wrong = rows.reduce((sum, row) => sum + row.wrong, 0);
    if (wrong > 0) {
      invalid++;
      notes.push(`**Invalid:** ${broker.name} ${variant}: ${wrong} handler(s) saw the wrong fork.`);
    }
  }
}
console.log([...lines, '', ...notes].join('\n'));
process.exit(invalid > 0 ? 1 : 0);
