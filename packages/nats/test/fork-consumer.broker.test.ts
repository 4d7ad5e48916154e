// forkConsumer on a real nats-server with JetStream: the baseline worker (two replicas) and
// alice's fork worker share the stream ORDERS; alice's messages go to her worker while it is
// live, everything else (bob has no worker, most messages have no fork) to the baseline. Every
// handling is recorded, so duplicates and losses are counted, and the windows of membership
// changes measured.

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getForkId, runWithForkId } from '@kubefork/context';
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { type NatsConnection, nanos } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ForkConsumer, forkConsumer, forkNats } from '../src/index.js';
import { type NatsServer, startNats } from './nats-server.js';
import { until } from './support.js';

const STREAM = 'ORDERS';
const CONSUMER = 'billing';
const REFRESH = 200;
const ACK_WAIT = 2000;
/** The README's bounds for these settings (presence replies are awaited up to 500 ms). */
const GRACEFUL_BOUND = 2 * REFRESH + 500;
const ABRUPT_BOUND = 2 * REFRESH + 500 + ACK_WAIT;
const RESTART_BOUND = REFRESH + 500;
/** Two cores shared by several suites: a window may stretch this much beyond its bound. */
const HEADROOM = 1000;

interface Handling {
  readonly worker: string;
  readonly fork: string | undefined;
  readonly at: number;
}
interface Sent {
  readonly fork: string | undefined;
  readonly at: number;
}

let server: NatsServer;
let producer: NatsConnection;
let js: JetStreamClient;
const connections: NatsConnection[] = [];
const workers: ForkConsumer[] = [];
const children: ChildProcess[] = [];
const errors: unknown[] = [];
const handled = new Map<string, Handling[]>();
const sent = new Map<string, Sent>();
let alice: { nc: NatsConnection; consumer: ForkConsumer };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startWorker(name: string, forkId?: string) {
  const nc = await connect({ servers: server.servers });
  connections.push(nc);
  const consumer = await forkConsumer(nc, {
    stream: STREAM,
    consumer: CONSUMER,
    forkAware: true,
    forkId,
    refreshInterval: REFRESH,
    callback: (msg: JsMsg) => {
      const id = msg.string();
      const list = handled.get(id) ?? [];
      list.push({ worker: name, fork: getForkId(), at: performance.now() });
      handled.set(id, list);
    },
    onError: (error) => errors.push(error),
  });
  workers.push(consumer);
  return { nc, consumer };
}

/** Alice's worker in a child process (test/fork-worker.mjs); resolves once it consumes. */
async function startChildWorker(name: string, forkId: string): Promise<ChildProcess> {
  const script = fileURLToPath(new URL('./fork-worker.mjs', import.meta.url));
  const args = [script, server.servers, STREAM, CONSUMER, forkId, String(REFRESH)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.stderr?.on('data', (chunk: Buffer) => errors.push(chunk.toString()));
  let buffered = '';
  let ready: () => void;
  const started = new Promise<void>((resolve) => {
    ready = resolve;
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line === 'ready') {
        ready();
        continue;
      }
      const { id, fork } = JSON.parse(line) as { id: string; fork?: string };
      const list = handled.get(id) ?? [];
      list.push({ worker: name, fork, at: performance.now() });
      handled.set(id, list);
    }
  });
  await Promise.race([
    started,
    new Promise((_, reject) =>
      child.once('exit', (code) => reject(new Error(`worker exited ${code}`))),
    ),
  ]);
  return child;
}

async function publish(id: string, fork: string | undefined): Promise<void> {
  sent.set(id, { fork, at: performance.now() });
  await runWithForkId(fork, () => js.publish(`${STREAM}.new`, id));
}

function count(ids: readonly string[]) {
  return {
    lost: ids.filter((id) => !handled.has(id)).length,
    duplicates: ids.filter((id) => (handled.get(id)?.length ?? 0) > 1).length,
    inWrongFork: ids.filter((id) => handled.get(id)?.some((h) => h.fork !== sent.get(id)?.fork))
      .length,
  };
}

/** Waits until every id is handled, then a few refreshes more for late duplicates. */
async function settle(ids: readonly string[]): Promise<void> {
  await until(() => ids.every((id) => handled.has(id)), `${ids.length} messages handled`, 15_000);
  await sleep(3 * REFRESH);
}

/**
 * Publishes alice's messages every 10 ms; 300 ms in, `change()` runs (its start is returned as
 * `at`); publishing goes on for `after` ms more.
 */
async function aliceTraffic(prefix: string, change: () => Promise<void>, after = 1500) {
  const ids: string[] = [];
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const id = `${prefix}-${i}`;
      ids.push(id);
      await publish(id, 'alice');
      await sleep(10);
    }
  })();
  await sleep(300);
  const at = performance.now();
  await change();
  await sleep(after);
  running = false;
  await loop;
  await settle(ids);
  return { ids, at };
}

/** The longest any of `ids` waited from being sent (or from `at`, if later) to being handled. */
function window(ids: readonly string[], at: number): number {
  let worst = 0;
  for (const id of ids) {
    const first = handled.get(id)?.[0];
    const from = Math.max(sent.get(id)?.at ?? 0, at);
    if (first !== undefined && first.at > at) worst = Math.max(worst, first.at - from);
  }
  return Math.round(worst);
}

/** How long after `at` the baseline still handled one of alice's messages sent after `at`. */
function backWindow(ids: readonly string[], at: number): number {
  let last = at;
  for (const id of ids) {
    const first = handled.get(id)?.[0];
    if ((sent.get(id)?.at ?? 0) >= at && first?.worker === 'baseline')
      last = Math.max(last, first.at);
  }
  return Math.round(last - at);
}

function report(what: string, figures: Record<string, number>): void {
  console.log(`[nats forkConsumer] ${what}: ${JSON.stringify(figures)}`);
}

beforeAll(async () => {
  delete process.env.KUBEFORK_FORK_ID;
  server = await startNats();
  producer = forkNats(await connect({ servers: server.servers }));
  js = jetstream(producer);
  const jsm = await jetstreamManager(producer);
  await jsm.streams.add({ name: STREAM, subjects: [`${STREAM}.>`] });
  await jsm.consumers.add(STREAM, {
    durable_name: CONSUMER,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(ACK_WAIT),
  });
  // Two replicas of the baseline worker share its consumer (and stand in together).
  await startWorker('baseline');
  await startWorker('baseline');
  alice = await startWorker('alice', 'alice');
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.allSettled(workers.map((worker) => worker.stop()));
  await Promise.allSettled([...connections, producer].map((nc) => nc?.close()));
  await server?.stop();
});

describe('forkConsumer (JetStream)', () => {
  it('hands each of 1,000 messages to the right worker exactly once', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `steady-${i}`);
    const forkOf = (i: number) => (i % 10 < 3 ? 'alice' : i % 10 < 5 ? 'bob' : undefined);
    await Promise.all(ids.map((id, i) => publish(id, forkOf(i))));
    await settle(ids);
    const misrouted = ids.filter((id) => {
      const expected = sent.get(id)?.fork === 'alice' ? 'alice' : 'baseline';
      return handled.get(id)?.some((h) => h.worker !== expected);
    }).length;
    const byWorker = { alice: 0, baseline: 0 };
    for (const id of ids) {
      for (const h of handled.get(id) ?? []) byWorker[h.worker as 'alice' | 'baseline']++;
    }
    report('steady state, 1,000 messages', { ...count(ids), misrouted, ...byWorker });
    expect({ ...count(ids), misrouted }).toEqual({
      lost: 0,
      duplicates: 0,
      inWrongFork: 0,
      misrouted: 0,
    });
    expect(byWorker).toEqual({ alice: 300, baseline: 700 });
    expect(errors).toEqual([]);
  });

  it('alice stops gracefully: the baseline takes her messages within the bound, none lost', async () => {
    const { ids, at } = await aliceTraffic('graceful', () => alice.consumer.stop());
    const taken = window(ids, at);
    const afterStop = ids.filter((id) => (sent.get(id)?.at ?? 0) > at + 50);
    report('graceful stop', {
      window: taken,
      bound: GRACEFUL_BOUND,
      messages: ids.length,
      ...count(ids),
    });
    expect(count(ids)).toEqual({ lost: 0, duplicates: 0, inWrongFork: 0 });
    expect(afterStop.length).toBeGreaterThan(50);
    expect(afterStop.filter((id) => handled.get(id)?.[0]?.worker !== 'baseline')).toEqual([]);
    expect(taken).toBeLessThan(GRACEFUL_BOUND + HEADROOM);
  });

  it('alice restarts: her messages go back to her', async () => {
    const { ids, at } = await aliceTraffic(
      'restart',
      async () => {
        alice = await startWorker('alice', 'alice');
      },
      RESTART_BOUND + HEADROOM + 800,
    );
    const late = ids.filter((id) => (sent.get(id)?.at ?? 0) >= at);
    const back = backWindow(ids, at);
    report('restart', { window: back, bound: RESTART_BOUND, messages: ids.length, ...count(ids) });
    expect(count(ids)).toEqual({ lost: 0, duplicates: 0, inWrongFork: 0 });
    expect(back).toBeLessThan(RESTART_BOUND + HEADROOM);
    const settled = late.filter((id) => (sent.get(id)?.at ?? 0) > at + RESTART_BOUND + HEADROOM);
    expect(settled.length).toBeGreaterThan(20);
    expect(settled.filter((id) => handled.get(id)?.[0]?.worker !== 'alice')).toEqual([]);
  });

  it('alice’s connection dies: the baseline takes her messages within the bound, none lost', async () => {
    const { ids, at } = await aliceTraffic(
      'abrupt',
      async () => {
        // No stop(): no leave notice, no hand-back; what she had pulled waits for ack_wait.
        await alice.nc.close();
      },
      ABRUPT_BOUND,
    );
    const taken = window(ids, at);
    const { lost, duplicates, inWrongFork } = count(ids);
    report('abrupt close', {
      window: taken,
      bound: ABRUPT_BOUND,
      messages: ids.length,
      lost,
      duplicates,
    });
    expect({ lost, inWrongFork }).toEqual({ lost: 0, inWrongFork: 0 });
    // Only what she had handled but not yet acked when the connection went may come twice.
    expect(duplicates).toBeLessThanOrEqual(32);
    expect(taken).toBeLessThan(ABRUPT_BOUND + HEADROOM);
  });

  it('alice restarts after dying: her messages go back to her', async () => {
    const { ids, at } = await aliceTraffic(
      'revive',
      async () => {
        alice = await startWorker('alice', 'alice');
      },
      RESTART_BOUND + HEADROOM + 800,
    );
    const late = ids.filter((id) => (sent.get(id)?.at ?? 0) > at + RESTART_BOUND + HEADROOM);
    const back = backWindow(ids, at);
    report('restart after abrupt close', {
      window: back,
      bound: RESTART_BOUND,
      messages: ids.length,
      ...count(ids),
    });
    expect(back).toBeLessThan(RESTART_BOUND + HEADROOM);
    expect(count(ids)).toEqual({ lost: 0, duplicates: 0, inWrongFork: 0 });
    expect(late.length).toBeGreaterThan(20);
    expect(late.filter((id) => handled.get(id)?.[0]?.worker !== 'alice')).toEqual([]);
  });

  it('alice’s process is killed: the baseline takes her messages within the bound, none lost', async () => {
    // A second replica of alice's worker, in its own process; the first one leaves gracefully
    // while it runs, so her messages stay with her.
    const child = await startChildWorker('alice', 'alice');
    await alice.consumer.stop();
    const { ids, at } = await aliceTraffic(
      'killed',
      async () => {
        child.kill('SIGKILL');
      },
      ABRUPT_BOUND,
    );
    const taken = window(ids, at);
    const { lost, duplicates, inWrongFork } = count(ids);
    const before = ids.filter((id) => (handled.get(id)?.[0]?.at ?? Infinity) < at);
    report('process killed', {
      window: taken,
      bound: ABRUPT_BOUND,
      messages: ids.length,
      lost,
      duplicates,
    });
    expect({ lost, inWrongFork }).toEqual({ lost: 0, inWrongFork: 0 });
    expect(before.length).toBeGreaterThan(10);
    expect(before.filter((id) => handled.get(id)?.[0]?.worker !== 'alice')).toEqual([]);
    expect(duplicates).toBeLessThanOrEqual(32);
    expect(taken).toBeLessThan(ABRUPT_BOUND + HEADROOM);
  });

  it('finishes a session whose worker died while creating it, and stands in for it', async () => {
    const jsm = await jetstreamManager(producer);
    await jsm.consumers.add(STREAM, {
      durable_name: `${CONSUMER}-fork-dave`,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      ack_wait: nanos(ACK_WAIT),
    });
    const ids = ['dave-0', 'dave-1', 'dave-2'];
    for (const id of ids) await publish(id, 'dave');
    await settle(ids);
    const info = await jsm.consumers.info(STREAM, `${CONSUMER}-fork-dave`);
    expect(JSON.parse(info.config.description ?? '{}')).toMatchObject({
      fork: 'dave',
      start: expect.any(Number),
    });
    expect(count(ids)).toEqual({ lost: 0, duplicates: 0, inWrongFork: 0 });
    expect(ids.map((id) => handled.get(id)?.[0]?.worker)).toEqual(ids.map(() => 'baseline'));
  });

  it('with forkAware: false handles every message itself, each in its fork', async () => {
    const jsm = await jetstreamManager(producer);
    await jsm.consumers.add(STREAM, {
      durable_name: 'audit',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
    });
    const nc = await connect({ servers: server.servers });
    connections.push(nc);
    const seen: Array<[string, string | undefined]> = [];
    const audit = await forkConsumer(nc, {
      stream: STREAM,
      consumer: 'audit',
      forkAware: false,
      forkId: 'alice',
      callback: (msg: JsMsg) => {
        seen.push([msg.string(), getForkId()]);
      },
    });
    workers.push(audit);
    await publish('audit-0', 'alice');
    await publish('audit-1', 'bob');
    await publish('audit-2', undefined);
    await until(() => seen.length === 3, 'three audit messages');
    expect(seen).toEqual([
      ['audit-0', 'alice'],
      ['audit-1', 'bob'],
      ['audit-2', undefined],
    ]);
    const names: string[] = [];
    for await (const consumer of jsm.consumers.list(STREAM)) names.push(consumer.name);
    expect(names).not.toContain('audit-fork-alice');
  });

  it('rejects bad options with the standard TypeError', async () => {
    const callback = () => undefined;
    const base = { stream: STREAM, consumer: CONSUMER, callback };
    for (const [options, option] of [
      [{ ...base, forkId: 'no spaces' }, 'forkId'],
      [{ ...base, refreshInterval: 0 }, 'refreshInterval'],
      [{ ...base, stream: 'a.b' }, 'stream'],
      [{ ...base, callback: undefined }, 'callback'],
      [{ ...base, forkAware: 'yes' }, 'forkAware'],
      [{ ...base, refresh: 100 }, 'refresh'],
    ] as const) {
      await expect(forkConsumer(producer, options as never)).rejects.toMatchObject({
        name: 'TypeError',
        code: 'ERR_KUBEFORK_INVALID_OPTION',
        message: expect.stringContaining(`option "${option}"`),
      });
    }
    process.env.KUBEFORK_FORK_ID = 'bad id';
    try {
      await expect(forkConsumer(producer, base)).rejects.toMatchObject({
        code: 'ERR_KUBEFORK_INVALID_OPTION',
        message: expect.stringContaining('"KUBEFORK_FORK_ID"'),
      });
    } finally {
      delete process.env.KUBEFORK_FORK_ID;
    }
    await expect(forkConsumer(producer, { ...base, consumer: 'missing' })).rejects.toThrow(
      /consumer missing on stream ORDERS not found/,
    );
  });
});
