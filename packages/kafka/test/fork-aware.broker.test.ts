// Fork-aware consumers on a real Kafka broker (KRaft, support/broker.ts): the baseline worker runs
// in this process, alice's fork of the worker in a child process (support/fork-worker.mjs, the
// built package) so that it can be stopped gracefully or killed. Every handling is recorded
// (alice's in a file, written synchronously, so a SIGKILL loses none), then each message is
// checked: handled, by the right worker, in its fork, how often, and how long after it was sent.
// The tests run in order and share the workers: steady state, graceful stop, restart, kill,
// restart.
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getForkId, runWithForkId } from '@kubefork/context';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkConsumer, forkGroupId, forkProducer } from '../src/index.js';
import { type KafkaBroker, startKafka } from './support/broker.js';

const TOPIC = 'orders';
const GROUP = 'billing';
const REFRESH_MS = 250;
/** alice's worker's session timeout: the broker's minimum (group.min.session.timeout.ms). */
const SESSION_MS = 6_000;
/** The documented bounds (README "Measured windows"), each with headroom for a loaded machine. */
const GRACEFUL_BOUND_MS = REFRESH_MS + 2_000;
const KILL_BOUND_MS = SESSION_MS + REFRESH_MS + 3_000;
const HANDBACK_BOUND_MS = REFRESH_MS + 1_500;
const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'support/fork-worker.mjs');

type Fork = 'alice' | 'bob' | undefined;
type Worker = 'baseline' | 'alice';
interface Handling {
  readonly worker: Worker;
  readonly fork: string;
  readonly at: number;
}

let broker: KafkaBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let baseline: Consumer;
let dir: string;
let seq = 0;
const sent = new Map<number, { fork: Fork; at: number }>();
const baselineHandled: Array<{ seq: number; fork: string; at: number }> = [];
/** alice's worker processes, one log each; the last one is the current one. */
const workers: Array<{ child: ChildProcess; log: string; joinedAt: number }> = [];
const figures: string[] = [];

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function report(line: string): void {
  figures.push(line);
  console.log(`fork-aware kafka: ${line}`);
}

/** Every handling of every message so far, by sequence number. */
function handlings(): Map<number, Handling[]> {
  const out = new Map<number, Handling[]>();
  const add = (n: number, handling: Handling) => {
    const list = out.get(n) ?? [];
    list.push(handling);
    out.set(n, list);
  };
  for (const { seq: n, fork: f, at } of baselineHandled)
    add(n, { worker: 'baseline', fork: f, at });
  for (const { log } of workers) {
    if (!existsSync(log)) continue;
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      const [value, f, at] = line.split(' ');
      if (value && f && at) add(Number(value), { worker: 'alice', fork: f, at: Number(at) });
    }
  }
  return out;
}

/** Sends one message per entry, in the entry's fork, through the fork-carrying producer. */
async function send(forks: readonly Fork[], topic = TOPIC): Promise<number[]> {
  const numbers: number[] = [];
  for (let i = 0; i < forks.length; i += 100) {
    const chunk = forks.slice(i, i + 100);
    await Promise.all(
      chunk.map((f) => {
        const n = ++seq;
        numbers.push(n);
        sent.set(n, { fork: f, at: Date.now() });
        return runWithForkId(f, () =>
          producer.send({ topic, messages: [{ key: String(n), value: String(n) }] }),
        );
      }),
    );
  }
  return numbers;
}

/** Sends alice, none, bob, alice, none, … one message every 20 ms until stopped. */
function stream() {
  const pattern: Fork[] = ['alice', undefined, 'bob', 'alice', undefined];
  const numbers: number[] = [];
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i++) {
      numbers.push(...(await send([pattern[i % pattern.length]])));
      await sleep(20);
    }
  })();
  return {
    numbers,
    async stop() {
      running = false;
      await done;
      return numbers;
    },
  };
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(50);
  }
}

function allHandled(numbers: readonly number[]): boolean {
  const seen = handlings();
  return numbers.every((n) => seen.has(n));
}

interface Tally {
  lost: number;
  duplicates: number;
  /** Handled by a worker other than `expected` says (messages `expected` has no opinion on are not counted). */
  wrongWorker: number;
  /** Handled in another fork than the message carries. */
  wrongFork: number;
  /** Longest time from send to first handling of an alice message, ms. */
  aliceMaxDelay: number;
  duplicated: number[];
}

function tally(numbers: readonly number[], expected: (n: number) => Worker | undefined): Tally {
  const seen = handlings();
  const out: Tally = {
    lost: 0,
    duplicates: 0,
    wrongWorker: 0,
    wrongFork: 0,
    aliceMaxDelay: 0,
    duplicated: [],
  };
  for (const n of numbers) {
    const list = seen.get(n) ?? [];
    const message = sent.get(n);
    if (message === undefined) throw new Error(`message ${n} was never sent`);
    if (list.length === 0) {
      out.lost++;
      continue;
    }
    if (list.length > 1) {
      out.duplicates += list.length - 1;
      out.duplicated.push(n);
    }
    const worker = expected(n);
    if (worker !== undefined && list.some((h) => h.worker !== worker)) out.wrongWorker++;
    if (list.some((h) => h.fork !== (message.fork ?? '-'))) out.wrongFork++;
    if (message.fork === 'alice') {
      const first = Math.min(...list.map((h) => h.at));
      out.aliceMaxDelay = Math.max(out.aliceMaxDelay, first - message.at);
    }
  }
  return out;
}

async function startAlice({
  topic = TOPIC,
  group = GROUP,
  delayMs = 0,
} = {}): Promise<{ child: ChildProcess; spawnedAt: number; joinedAt: number }> {
  const log = join(dir, `alice-${workers.length}.log`);
  const spawnedAt = Date.now();
  const args = [broker.address, topic, group, log, String(SESSION_MS), String(delayMs)];
  const child = fork(WORKER, args, {
    env: { ...process.env, KUBEFORK_FORK_ID: 'alice' },
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const entry = { child, log, joinedAt: 0 };
  workers.push(entry);
  entry.joinedAt = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("alice's worker did not join")), 30_000);
    child.once('message', () => {
      clearTimeout(timer);
      resolve(Date.now());
    });
    child.once('exit', (code) => reject(new Error(`alice's worker exited (${code})`)));
  });
  return { child, spawnedAt, joinedAt: entry.joinedAt };
}

function alice(): ChildProcess {
  const current = workers.at(-1);
  if (current === undefined) throw new Error("alice's worker never started");
  return current.child;
}

/** The group's state once it is `wanted`, or whatever it is after a while. */
async function groupState(groupId: string, wanted: string): Promise<string | undefined> {
  // A taken-over fork's group is deleted two refreshes and a second after its second read.
  const deadline = Date.now() + REFRESH_MS * 2 + 6_000;
  for (;;) {
    const { groups } = await admin.describeGroups([groupId]);
    const state = groups[0]?.state;
    if (state === wanted || Date.now() > deadline) return state;
    await sleep(100);
  }
}

async function aliceGroupMembers(): Promise<number> {
  const { groups } = await admin.describeGroups([forkGroupId(GROUP, 'alice')]);
  return groups[0]?.members.length ?? 0;
}

/** A baseline worker in this process; resolves once it has joined its group. */
async function startBaseline(
  group: string,
  topic: string,
  refreshMs = REFRESH_MS,
): Promise<Consumer> {
  const consumer = forkConsumer(
    kafka,
    { groupId: group, maxWaitTimeInMs: 100, heartbeatInterval: 500 },
    { forkAware: true, refreshMs },
  );
  const joined = new Promise((resolve) => consumer.on(consumer.events.GROUP_JOIN, resolve));
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      baselineHandled.push({
        seq: Number(String(message.value)),
        fork: getForkId() ?? '-',
        at: Date.now(),
      });
    },
  });
  await joined;
  return consumer;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kubefork-fork-aware-'));
  broker = await startKafka();
  kafka = broker.client();
  await broker.createTopics([TOPIC], 3);
  admin = kafka.admin();
  producer = forkProducer(kafka.producer());
  await Promise.all([admin.connect(), producer.connect()]);

  baseline = await startBaseline(GROUP, TOPIC);
  await startAlice();
  // The baseline's next refresh sees alice's group.
  await sleep(REFRESH_MS * 2 + 300);
});

afterAll(async () => {
  for (const { child } of workers) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
  await baseline?.disconnect();
  await producer?.disconnect();
  await admin?.disconnect();
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (figures.length > 0) console.log(`fork-aware kafka, measured:\n  ${figures.join('\n  ')}`);
});

describe('fork-aware consumers', () => {
  it('hands each of 1,000 messages to the right worker once: alice’s to hers, bob’s and unforked to the baseline', async () => {
    expect(await aliceGroupMembers()).toBe(1);
    // 30 % alice, 20 % bob (no worker of his own), 50 % none, in a fixed shuffled order.
    const forks: Fork[] = Array.from({ length: 1_000 }, (_, i) =>
      i % 10 < 3 ? 'alice' : i % 10 < 5 ? 'bob' : undefined,
    );
    let state = 7;
    for (let i = forks.length - 1; i > 0; i--) {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
      const j = state % (i + 1);
      [forks[i], forks[j]] = [forks[j], forks[i]];
    }
    const numbers = await send(forks);
    await until(() => allHandled(numbers), 30_000, '1,000 messages handled');
    await sleep(REFRESH_MS * 2); // time for a duplicate to show up
    const result = tally(numbers, (n) => (sent.get(n)?.fork === 'alice' ? 'alice' : 'baseline'));
    const seen = handlings();
    const byWorker = (worker: Worker) =>
      numbers.filter((n) => seen.get(n)?.some((h) => h.worker === worker)).length;
    report(
      `steady state, 1,000 messages: alice's worker ${byWorker('alice')}, baseline ${byWorker('baseline')}, ` +
        `${result.duplicates} duplicates, ${result.lost} lost`,
    );
    expect({ ...result, aliceMaxDelay: 0 }).toEqual({
      lost: 0,
      duplicates: 0,
      wrongWorker: 0,
      wrongFork: 0,
      aliceMaxDelay: 0,
      duplicated: [],
    });
    expect([byWorker('alice'), byWorker('baseline')]).toEqual([300, 700]);
  });

  it('gives alice’s messages to the baseline within the bound when her worker disconnects, none lost', async () => {
    const traffic = stream();
    await sleep(1_000);
    const stoppedAt = Date.now();
    alice().send('stop');
    await once(alice(), 'exit');
    await sleep(1_500);
    const numbers = await traffic.stop();
    await until(() => allHandled(numbers), 15_000, 'messages after the stop handled');
    const result = tally(numbers, (n) =>
      (sent.get(n)?.at ?? 0) > stoppedAt && sent.get(n)?.fork !== 'alice' ? 'baseline' : undefined,
    );
    const afterStop = numbers.filter((n) => (sent.get(n)?.at ?? 0) > stoppedAt + GRACEFUL_BOUND_MS);
    report(
      `graceful stop: alice's messages waited at most ${result.aliceMaxDelay} ms ` +
        `(bound ${GRACEFUL_BOUND_MS} ms), ${result.duplicates} duplicates, ${result.lost} lost`,
    );
    expect(result.lost).toBe(0);
    expect(result.wrongFork).toBe(0);
    expect(result.wrongWorker).toBe(0);
    expect(result.aliceMaxDelay).toBeLessThanOrEqual(GRACEFUL_BOUND_MS);
    expect(tally(afterStop, () => 'baseline')).toMatchObject({
      lost: 0,
      wrongWorker: 0,
      duplicates: 0,
    });
  });

  async function restart(label: string): Promise<void> {
    // The baseline has taken over and deleted alice's group (so she starts at the baseline's
    // offsets, not at her own old ones).
    expect(await groupState(forkGroupId(GROUP, 'alice'), 'Dead')).toBe('Dead');
    const traffic = stream();
    await sleep(500);
    const { spawnedAt, joinedAt } = await startAlice();
    await sleep(HANDBACK_BOUND_MS + 1_000);
    const numbers = await traffic.stop();
    await until(() => allHandled(numbers), 15_000, 'messages around the restart handled');
    const seen = handlings();
    const result = tally(numbers, () => undefined);
    // The last alice message the baseline took after she joined: the hand-back window.
    const takenByBaseline = numbers.filter(
      (n) =>
        sent.get(n)?.fork === 'alice' &&
        (sent.get(n)?.at ?? 0) >= joinedAt &&
        seen.get(n)?.some((h) => h.worker === 'baseline'),
    );
    const handback = Math.max(0, ...takenByBaseline.map((n) => (sent.get(n)?.at ?? 0) - joinedAt));
    const settled = numbers.filter((n) => (sent.get(n)?.at ?? 0) > joinedAt + HANDBACK_BOUND_MS);
    const duplicatesOutside = result.duplicated.filter((n) => {
      const at = sent.get(n)?.at ?? 0;
      return at < spawnedAt - 1_000 || at > joinedAt + HANDBACK_BOUND_MS;
    });
    report(
      `${label}: joined ${joinedAt - spawnedAt} ms after spawn; the baseline took her messages ` +
        `until ${handback} ms after (bound ${HANDBACK_BOUND_MS} ms); ${result.duplicates} duplicates ` +
        `(all sent between spawn and hand-back), ${result.lost} lost`,
    );
    expect(result.lost).toBe(0);
    expect(result.wrongFork).toBe(0);
    expect(handback).toBeLessThanOrEqual(HANDBACK_BOUND_MS);
    expect(duplicatesOutside).toEqual([]);
    expect(
      tally(settled, (n) => (sent.get(n)?.fork === 'alice' ? 'alice' : 'baseline')),
    ).toMatchObject({ lost: 0, wrongWorker: 0, duplicates: 0 });
  }

  it('hands alice’s messages back to her worker when it restarts', async () => {
    await restart('restart after graceful stop');
  });

  it('gives alice’s messages to the baseline within the session timeout when her worker is killed, none lost', async () => {
    const traffic = stream();
    await sleep(1_000);
    const killedAt = Date.now();
    alice().kill('SIGKILL');
    await once(alice(), 'exit');
    await until(
      () => {
        const seen = handlings();
        return [...sent].some(
          ([n, { fork: f, at }]) =>
            f === 'alice' && at > killedAt && seen.get(n)?.some((h) => h.worker === 'baseline'),
        );
      },
      KILL_BOUND_MS + 5_000,
      'the baseline takes over alice’s messages',
    );
    await sleep(1_000);
    const numbers = await traffic.stop();
    await until(() => allHandled(numbers), 15_000, 'messages after the kill handled');
    const result = tally(numbers, (n) =>
      (sent.get(n)?.at ?? 0) > killedAt ? 'baseline' : undefined,
    );
    report(
      `kill (SIGKILL, session timeout ${SESSION_MS} ms): alice's messages waited at most ` +
        `${result.aliceMaxDelay} ms (bound ${KILL_BOUND_MS} ms), ${result.duplicates} duplicates, ` +
        `${result.lost} lost`,
    );
    expect(result.lost).toBe(0);
    expect(result.wrongFork).toBe(0);
    expect(result.wrongWorker).toBe(0);
    expect(result.aliceMaxDelay).toBeLessThanOrEqual(KILL_BOUND_MS);
  });

  it('hands alice’s messages back to her worker when it restarts after a kill', async () => {
    await restart('restart after kill');
  });
});

describe('a fork that leaves while no baseline runs', () => {
  it('has its unhandled messages read again by the next baseline, none lost', async () => {
    const topic = 'shipments';
    const group = 'shipping';
    await broker.createTopics([topic], 2);
    const first = await startBaseline(group, topic);
    // alice's worker lags (100 ms a message): the baseline skips past her messages long before
    // she has handled them.
    await startAlice({ topic, group, delayMs: 100 });
    await sleep(REFRESH_MS * 2 + 300);
    const forks: Fork[] = Array.from({ length: 40 }, (_, i) => (i % 4 === 3 ? undefined : 'alice'));
    const numbers = await send(forks, topic);
    const unforked = numbers.filter((n) => sent.get(n)?.fork === undefined);
    await until(() => allHandled(unforked), 10_000, 'the baseline read past alice’s messages');
    await first.disconnect();
    alice().send('stop');
    await once(alice(), 'exit');
    const seen = handlings();
    const byAlice = numbers.filter((n) => seen.get(n)?.some((h) => h.worker === 'alice')).length;
    expect(byAlice).toBeLessThan(30); // she left some of her 30 unhandled
    const second = await startBaseline(group, topic);
    let state: string | undefined;
    try {
      await until(() => allHandled(numbers), 15_000, 'alice’s messages read again');
      state = await groupState(forkGroupId(group, 'alice'), 'Dead');
    } finally {
      await second.disconnect();
    }
    const result = tally(numbers, () => undefined);
    report(
      `fork left while no baseline ran: alice handled ${byAlice} of 30, the next baseline ` +
        `${30 - byAlice} more; ${result.duplicates} duplicates, ${result.lost} lost`,
    );
    expect(result).toMatchObject({ lost: 0, wrongFork: 0 });
    expect(state).toBe('Dead');
  });
});

describe('a rebalance of the baseline members during a takeover', () => {
  // Two baseline members, ann and ben; alice's worker lags (50 ms a message), so both skip far
  // past what she has handled. She stops; ann's refresh (every 250 ms) takes over her partitions;
  // ben's (every 5 s) has not yet when the group rebalances: ben stops (his partitions move to
  // ann, who never saw ben skip anything), or a third member, cat, joins (partitions move
  // between all three). Only the durable record (alice's group's offsets against the baseline
  // group's) tells the new owners what to read again.
  it('loses none of the departed fork’s messages when members leave or join before taking over', async () => {
    const lines: string[] = [];
    const trials = [
      { change: 'ben stops', afterMs: 400 },
      { change: 'ben stops', afterMs: 900 },
      { change: 'cat joins', afterMs: 400 },
    ] as const;
    for (const [trial, { change, afterMs }] of trials.entries()) {
      const topic = `ledger-${trial}`;
      const group = `ledger-${trial}`;
      await broker.createTopics([topic], 4);
      const members: Consumer[] = [];
      try {
        members.push(await startBaseline(group, topic)); // ann
        await startAlice({ topic, group, delayMs: 50 });
        await sleep(REFRESH_MS * 2 + 300); // ann sees alice's group
        const ben = await startBaseline(group, topic, 5_000); // his first refresh sees it too
        members.push(ben);
        const forks: Fork[] = Array.from({ length: 120 }, (_, i) =>
          i % 3 === 2 ? undefined : 'alice',
        );
        const numbers = await send(forks, topic);
        const unforked = numbers.filter((n) => sent.get(n)?.fork === undefined);
        await until(() => allHandled(unforked), 10_000, 'the baseline read past alice’s messages');
        alice().send('stop');
        await once(alice(), 'exit');
        await sleep(afterMs);
        if (change === 'ben stops') {
          members.splice(members.indexOf(ben), 1);
          await ben.disconnect();
        } else {
          members.push(await startBaseline(group, topic)); // cat
        }
        // Messages keep coming while the new owners take the moved partitions over.
        const later = await send(['alice', undefined, 'alice', undefined], topic);
        const all = [...numbers, ...later];
        const seen = handlings();
        const byAlice = numbers.filter((n) =>
          seen.get(n)?.some((h) => h.worker === 'alice'),
        ).length;
        await until(() => allHandled(all), 20_000, 'alice’s messages read again').catch(() => {});
        const state = await groupState(forkGroupId(group, 'alice'), 'Dead');
        const result = tally(all, () => undefined);
        lines.push(
          `${change} ${afterMs} ms after alice (she handled ${byAlice} of 80): ` +
            `${result.duplicates} duplicates, ${result.lost} lost, alice's group ${state}`,
        );
        expect(byAlice).toBeLessThan(80);
        expect(result).toMatchObject({ lost: 0, wrongFork: 0 });
        expect(state).toBe('Dead');
      } finally {
        await Promise.all(members.map((member) => member.disconnect()));
      }
    }
    report(`rebalance during takeover: ${lines.join('; ')}`);
  });
});

describe('fork-aware options', () => {
  it('throws a TypeError naming the option for a bad forkId, refreshMs, groupId, forkAware or KUBEFORK_FORK_ID', () => {
    const bad: Array<[unknown, unknown, string]> = [
      [{ groupId: 'g' }, { forkAware: true, forkId: 'not valid' }, 'forkId'],
      [{ groupId: 'g' }, { forkAware: true, refreshMs: 0 }, 'refreshMs'],
      [{ groupId: '' }, { forkAware: true }, 'groupId'],
      [{ groupId: 'g' }, { forkAware: 'yes' }, 'forkAware'],
      [{ groupId: 'g' }, { forkAware: true, refresh: 5 }, 'refresh'],
    ];
    for (const [config, options, option] of bad) {
      expect(() => forkConsumer(kafka, config as never, options as never)).toThrow(
        expect.objectContaining({
          name: 'TypeError',
          code: 'ERR_KUBEFORK_INVALID_OPTION',
          message: expect.stringContaining(`"${option}"`),
        }),
      );
    }
    process.env.KUBEFORK_FORK_ID = 'al ice';
    try {
      expect(() => forkConsumer(kafka, { groupId: 'g' }, { forkAware: true })).toThrow(
        /"KUBEFORK_FORK_ID"/,
      );
    } finally {
      delete process.env.KUBEFORK_FORK_ID;
    }
  });

  it('refuses eachBatch, which cannot be routed message by message', async () => {
    const consumer = forkConsumer(kafka, { groupId: 'g' }, { forkAware: true, forkId: 'alice' });
    await expect(consumer.run({ eachBatch: async () => {} })).rejects.toMatchObject({
      code: 'ERR_KUBEFORK_INVALID_OPTION',
    });
  });
});
