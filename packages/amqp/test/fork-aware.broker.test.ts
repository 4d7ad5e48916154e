// Fork-aware consumers against a real RabbitMQ: a baseline worker and alice's fork worker share
// a queue. Each message must be handled by the right worker, in its own fork; duplicates and
// losses are counted; the windows of membership changes (alice stops gracefully, her connection
// drops, she restarts) are measured, printed and checked against the bound the README states.
import { setTimeout as sleep } from 'node:timers/promises';
import { configure, getForkId, runWithForkId } from '@kubefork/context';
import amqp, {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
} from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ForkedChannel, forkChannel } from '../src/index.js';
import { type RabbitMq, startRabbitMq } from './rabbitmq.js';
import { until } from './support.js';

const QUEUE = 'billing';
const TTL = 500;
const REFRESH = 250;
const PREFETCH = 20;
/** The stated bound for a stopped fork's messages to reach the baseline: TTL + refresh. */
const BOUND = TTL + REFRESH;
/** Headroom for a loaded machine (seven test runs share two cores). */
const SLACK = 1500;

let broker: RabbitMq | undefined;
const connections = new Set<ChannelModel>();
let publisher: ForkedChannel<ConfirmChannel>;

interface Handled {
  readonly worker: string;
  readonly fork: string | undefined;
  readonly at: number;
}
/** Per message number: when and in which fork it was sent, and every time it was handled. */
const sent = new Map<number, { fork: string | undefined; at: number }>();
const handled = new Map<number, Handled[]>();
let next = 0;
/** While true, alice's worker holds what it receives (unacked, unhandled): messages left behind. */
let aliceStalls = false;

function noop(): void {}

async function connect(): Promise<ChannelModel> {
  if (broker === undefined) throw new Error('no broker');
  const connection = await amqp.connect(broker.url);
  connection.on('error', noop); // the abrupt close below makes amqplib report the lost socket
  connections.add(connection);
  connection.on('close', () => connections.delete(connection));
  return connection;
}

function send(fork: string | undefined, queue = QUEUE): number {
  const n = next++;
  sent.set(n, { fork, at: performance.now() });
  const publish = () => publisher.sendToQueue(queue, Buffer.from(String(n)));
  if (fork === undefined) publish();
  else runWithForkId(fork, publish);
  return n;
}

/** Sends a message of `fork` every `intervalMs` for `durationMs`; resolves with their numbers. */
async function stream(fork: string, durationMs: number, intervalMs = 5): Promise<number[]> {
  const ns: number[] = [];
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    ns.push(send(fork));
    await sleep(intervalMs);
  }
  await publisher.waitForConfirms();
  return ns;
}

interface Worker {
  readonly connection: ChannelModel;
  readonly channel: ForkedChannel<Channel>;
  readonly tag: string;
  /** When `consume` resolved: the worker is live from here on. */
  readonly readyAt: number;
}

async function startWorker(worker: string, forkId?: string, queue = QUEUE): Promise<Worker> {
  const connection = await connect();
  const channel = forkChannel(await connection.createChannel());
  await channel.prefetch(PREFETCH);
  const { consumerTag } = await channel.consume(
    queue,
    (message: ConsumeMessage | null) => {
      if (message === null) return;
      if (worker === 'alice' && aliceStalls) return;
      const n = Number(message.content.toString());
      const entry = { worker, fork: getForkId(), at: performance.now() };
      handled.set(n, [...(handled.get(n) ?? []), entry]);
      try {
        channel.ack(message);
      } catch {
        // The connection was cut under the handler: the broker requeues the message.
      }
    },
    { forkAware: true, connection, forkId, forkQueueTtlMs: TTL, forkRefreshMs: REFRESH },
  );
  return { connection, channel, tag: consumerTag, readyAt: performance.now() };
}

interface Tally {
  lost: number;
  duplicates: number;
  /** Handled by another worker than `expected` says, or in another fork than it was sent in. */
  misrouted: number;
}

function tally(ns: number[], expected: (n: number, entry: Handled) => boolean): Tally {
  const result: Tally = { lost: 0, duplicates: 0, misrouted: 0 };
  for (const n of ns) {
    const entries = handled.get(n) ?? [];
    if (entries.length === 0) result.lost++;
    result.duplicates += Math.max(0, entries.length - 1);
    const fork = sent.get(n)?.fork;
    if (entries.some((entry) => entry.fork !== fork || !expected(n, entry))) result.misrouted++;
  }
  return result;
}

function allHandled(ns: number[]): boolean {
  return ns.every((n) => handled.has(n));
}

const ms = (value: number) => `${Math.round(value)} ms`;

let alice: Worker;

beforeAll(async () => {
  delete process.env.KUBEFORK_FORK_ID;
  broker = await startRabbitMq();
  const connection = await connect();
  publisher = forkChannel(await connection.createConfirmChannel());
  await publisher.assertQueue(QUEUE, { durable: true });
  await startWorker('baseline'); // lives until afterAll
  alice = await startWorker('alice', 'alice');
});

afterAll(async () => {
  // Closing connections must not keep the broker alive: bounded, and stop() runs regardless.
  try {
    const closing = Promise.allSettled([...connections].map((c) => c.close()));
    await Promise.race([closing, sleep(5000)]);
  } finally {
    await broker?.stop();
  }
}, 30_000);

describe('fork-aware consumers', () => {
  it('hands 1,000 messages to the right worker: none twice, none lost', async () => {
    const ns: number[] = [];
    for (let i = 0; i < 1000; i++) {
      ns.push(send(i % 10 < 3 ? 'alice' : i % 10 < 5 ? 'bob' : undefined));
    }
    await publisher.waitForConfirms();
    await until(() => allHandled(ns), '1,000 messages handled');
    await sleep(BOUND); // a late duplicate would show by now
    const result = tally(ns, (n, entry) =>
      sent.get(n)?.fork === 'alice' ? entry.worker === 'alice' : entry.worker === 'baseline',
    );
    const byAlice = ns.filter((n) => handled.get(n)?.[0]?.worker === 'alice').length;
    console.log(`steady state: ${JSON.stringify(result)}, alice handled ${byAlice} of 1000`);
    expect(result).toEqual({ lost: 0, duplicates: 0, misrouted: 0 });
    expect(byAlice).toBe(300);
  });

  for (const how of ['graceful', 'abrupt'] as const) {
    it(`returns alice's messages to the baseline within the bound when her worker stops (${how})`, async () => {
      // Traffic across the change; alice holds what she receives just before it, so that
      // messages are left both unacked on her channel and ready in her queue.
      const traffic = stream('alice', 300 + BOUND + 500);
      await sleep(150);
      aliceStalls = true;
      await sleep(150);
      const stoppedAt = performance.now();
      if (how === 'graceful') {
        await alice.channel.cancel(alice.tag);
        await alice.connection.close();
      } else {
        // What the broker sees when the process is killed: the socket closes, no AMQP goodbye.
        (
          alice.connection as unknown as { connection: { stream: { destroy(): void } } }
        ).connection.stream.destroy();
      }
      const ns = await traffic;
      await until(() => allHandled(ns), `alice's messages after a ${how} stop`);
      await sleep(BOUND);

      const result = tally(ns, (_n, entry) => entry.worker === 'baseline' || entry.at < stoppedAt);
      const returned = ns.filter((n) => handled.get(n)?.[0]?.worker === 'baseline');
      const left = returned.filter((n) => (sent.get(n)?.at ?? 0) < stoppedAt);
      // How long after the stop (or after sending, if later) each message reached the baseline.
      const waits = returned.map((n) => {
        const first = handled.get(n)?.[0]?.at ?? 0;
        return first - Math.max(sent.get(n)?.at ?? 0, stoppedAt);
      });
      const worst = Math.max(...waits);
      console.log(
        `${how} stop: ${JSON.stringify(result)}, ${left.length} left behind at the stop, ` +
          `${returned.length} returned; worst wait ${ms(worst)} (bound ${ms(BOUND)})`,
      );
      expect(result.lost).toBe(0);
      expect(result.misrouted).toBe(0);
      expect(result.duplicates).toBe(0); // alice acked nothing she held: nothing to repeat
      expect(left.length).toBeGreaterThan(0);
      expect(worst).toBeLessThan(BOUND + SLACK);
    });

    it(`hands alice's messages back to her once she restarts (after the ${how} stop)`, async () => {
      aliceStalls = false;
      // Traffic across the restart: the baseline keeps asking about alice's queue meanwhile.
      const traffic = stream('alice', 300 + REFRESH + 700);
      await sleep(300);
      // The second restart reads its fork from the environment, as a fork's copy would.
      if (how === 'abrupt') process.env.KUBEFORK_FORK_ID = 'alice';
      try {
        alice = await startWorker('alice', how === 'abrupt' ? undefined : 'alice');
      } finally {
        delete process.env.KUBEFORK_FORK_ID;
      }
      const ns = await traffic;
      await until(() => allHandled(ns), 'messages after the restart');
      const result = tally(
        ns,
        (n, entry) =>
          entry.worker === 'alice' || (sent.get(n)?.at ?? 0) < alice.readyAt + REFRESH + SLACK,
      );
      const toBaseline = ns.filter((n) => handled.get(n)?.[0]?.worker === 'baseline');
      const lastToBaseline = Math.max(
        alice.readyAt,
        ...toBaseline.map((n) => sent.get(n)?.at ?? 0),
      );
      const window = lastToBaseline - alice.readyAt;
      const later = ns.filter((n) => (sent.get(n)?.at ?? 0) > lastToBaseline);
      console.log(
        `restart (${how}): ${JSON.stringify(result)}, ${toBaseline.length} still to baseline, ` +
          `window ${ms(window)} (bound ${ms(REFRESH)})`,
      );
      expect(result).toEqual({ lost: 0, duplicates: 0, misrouted: 0 });
      expect(window).toBeLessThan(REFRESH + SLACK);
      expect(toBaseline.length).toBeGreaterThan(0); // the restart happened under traffic
      expect(later.length).toBeGreaterThan(0);
      expect(later.every((n) => handled.get(n)?.[0]?.worker === 'alice')).toBe(true);
    });
  }

  it('handles a message itself when the fork queue vanished after it was seen live', async () => {
    // A baseline that asks again only every 30 s, so it still believes carol's queue is live.
    const queue = 'returns';
    await publisher.assertQueue(queue, { durable: true });
    const connection = await connect();
    const channel = forkChannel(await connection.createChannel());
    const seen: Array<{ worker: string; fork: string | undefined }> = [];
    const record = (worker: string, ch: typeof channel) => (message: ConsumeMessage | null) => {
      if (message === null) return;
      seen.push({ worker, fork: getForkId() });
      ch.ack(message);
    };
    await channel.consume(queue, record('baseline', channel), {
      forkAware: true,
      connection,
      forkRefreshMs: 30_000,
    });
    const carolConnection = await connect();
    const carol = forkChannel(await carolConnection.createChannel());
    await carol.consume(queue, record('carol', carol), {
      forkAware: true,
      connection: carolConnection,
      forkId: 'carol',
    });
    send('carol', queue);
    await until(() => seen.length === 1, 'the first message');
    await publisher.deleteQueue(`${queue}.fork.carol`);
    send('carol', queue);
    await until(() => seen.length === 2, 'the second message', 5000);
    expect(seen).toEqual([
      { worker: 'carol', fork: 'carol' },
      { worker: 'baseline', fork: 'carol' },
    ]);
  });
});

describe('fork-aware consumers and invalid forks', () => {
  it('handles a message with an invalid fork as baseline and reports it once', async () => {
    const reports: string[] = [];
    configure({ onInvalid: (value, reason) => reports.push(`${reason}: ${value}`) });
    try {
      const n = next++;
      sent.set(n, { fork: undefined, at: performance.now() });
      publisher.sendToQueue(QUEUE, Buffer.from(String(n)), {
        headers: { 'x-fork-identifier': 'not a fork' },
      });
      await until(() => handled.has(n), 'the message');
      await sleep(100);
      expect(handled.get(n)).toEqual([
        expect.objectContaining({ worker: 'baseline', fork: undefined }),
      ]);
      expect(reports).toEqual(['characters: not a fork']);
    } finally {
      configure();
    }
  });
});

describe('fork-aware options', () => {
  it('throws the standard TypeError for bad options, naming the option', async () => {
    const connection = await connect();
    const channel = forkChannel(await connection.createChannel());
    channel.on('error', noop);
    const fn = () => {};
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ forkAware: 'yes' }, 'forkAware'],
      [{ forkAware: true }, 'connection'],
      [{ forkAware: true, connection: {} }, 'connection'],
      [{ forkId: 'alice' }, 'forkId'],
      [{ forkAware: true, connection, forkId: 'not a fork' }, 'forkId'],
      [{ forkAware: true, connection, forkQueueTtlMs: 0 }, 'forkQueueTtlMs'],
      [{ forkAware: true, connection, forkRefreshMs: 1.5 }, 'forkRefreshMs'],
      [{ forkAware: true, connection, noAck: true }, 'noAck'],
    ];
    for (const [options, option] of cases) {
      expect(() => channel.consume(QUEUE, fn, options), option).toThrow(
        expect.objectContaining({
          name: 'TypeError',
          code: 'ERR_KUBEFORK_INVALID_OPTION',
          message: expect.stringContaining(`option "${option}" must be`),
        }),
      );
    }
    process.env.KUBEFORK_FORK_ID = 'bad id';
    try {
      expect(() => channel.consume(QUEUE, fn, { forkAware: true, connection })).toThrow(
        /option "KUBEFORK_FORK_ID" must be a valid fork id/,
      );
    } finally {
      delete process.env.KUBEFORK_FORK_ID;
    }
    expect(() => channel.consume('', fn, { forkAware: true, connection })).toThrow(
      /option "queue" must be/,
    );
  });
});
