// forkNats with nats.js v3 against a real nats-server: core publish, request and subscriptions.
import { setTimeout as sleep } from 'node:timers/promises';
import { configure, getForkId, type InvalidReason, runWithForkId } from '@kubefork/context';
import { headers, type Msg, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  expectedFork,
  expectedReasons,
  HOSTILE_INPUTS,
  type MessageOutcome,
  messageOutcome,
} from '../../../test/support/message-hostile-inputs.js';
import { forkNats, runInMessageFork } from '../src/index.js';
import { type NatsServer, startNats } from './nats-server.js';
import { type RawPublisher, rawPublisher } from './raw-publisher.js';
import { expectForkOnce, expectNoFork, H, until, valuesOf } from './support.js';

let server: NatsServer;
/** Unwrapped: publishes hand-made headers and reads what really reached the server. */
let raw: NatsConnection;
let nc: NatsConnection;
let hostile: RawPublisher;
let subjects = 0;

beforeAll(async () => {
  server = await startNats();
  raw = await connect({ servers: server.servers });
  nc = forkNats(await connect({ servers: server.servers }));
  hostile = await rawPublisher(server.port);
});

afterAll(async () => {
  hostile?.close();
  await nc?.close();
  await raw?.close();
  await server?.stop();
});

afterEach(() => configure());

const subject = () => `test.${++subjects}`;

/** The next message on `name`, read with the unwrapped connection; call before publishing. */
async function next(name: string): Promise<() => Promise<Msg>> {
  const sub = raw.subscribe(name, { max: 1 });
  await raw.flush();
  return async () => {
    for await (const msg of sub) return msg;
    throw new Error(`no message on ${name}`);
  };
}

/** Subscribes `connection` to `name` with a callback, recording the fork each message ran in. */
async function record(connection: NatsConnection, name: string) {
  const seen: Array<{ fork: string | undefined; body: string }> = [];
  connection.subscribe(name, {
    callback: (_error, msg) => {
      seen.push({ fork: getForkId(), body: msg.string() });
    },
  });
  await connection.flush();
  return seen;
}

describe('publishing', () => {
  it('adds the fork header and our baggage member once inside a fork', async () => {
    const s = subject();
    const received = await next(s);
    runWithForkId('alice', () => nc.publish(s, 'x'));
    expectForkOnce((await received()).headers, 'alice');
  });

  it('adds nothing outside a fork', async () => {
    const s = subject();
    const received = await next(s);
    const given = headers();
    given.set('other', 'kept');
    nc.publish(s, 'x', { headers: given });
    const got = (await received()).headers;
    expectNoFork(got);
    expect(got?.keys()).toEqual(['other']);
  });

  it('keeps a fork header the caller set, and never writes to the caller’s headers', async () => {
    const s = subject();
    const given = headers();
    given.set('X-Fork-Identifier', 'bob');
    given.set('Baggage', `k=v,${H}=carol`);
    const received = await next(s);
    runWithForkId('alice', () => nc.publish(s, 'x', { headers: given }));
    const got = (await received()).headers;
    expect(got?.get('X-Fork-Identifier')).toBe('bob');
    expectForkOnce(got, 'bob');
    expect(valuesOf(got, 'baggage')).toEqual([`${H}=bob,k=v`]);
    expect(given.values('X-Fork-Identifier')).toEqual(['bob']);
    expect(given.values('Baggage')).toEqual([`k=v,${H}=carol`]);
  });

  it('adds the fork to requests, and the answer comes back', async () => {
    const s = subject();
    raw.subscribe(s, {
      callback: (_error, msg) => {
        msg.respond(valuesOf(msg.headers, H).join('|') || 'none');
      },
    });
    await raw.flush();
    const answer = await runWithForkId('alice', () => nc.request(s, 'q', { timeout: 5000 }));
    expect(answer.string()).toBe('alice');
    expect((await nc.request(s, 'q', { timeout: 5000 })).string()).toBe('none');
    const noMux = await runWithForkId('bob', () =>
      nc.request(s, 'q', { timeout: 5000, noMux: true }),
    );
    expect(noMux.string()).toBe('bob');
  });

  it('adds the fork to requestMany', async () => {
    const s = subject();
    raw.subscribe(s, {
      callback: (_error, msg) => {
        msg.respond(valuesOf(msg.headers, H)[0]);
      },
    });
    await raw.flush();
    const answers: string[] = [];
    const replies = await runWithForkId('alice', () =>
      nc.requestMany(s, 'q', { maxWait: 1000, maxMessages: 1 }),
    );
    for await (const reply of replies) answers.push(reply.string());
    expect(answers).toEqual(['alice']);
  });

  it('adds the fork once when the connection is wrapped twice', async () => {
    forkNats(nc);
    const s = subject();
    const received = await next(s);
    runWithForkId('alice', () => nc.publish(s, 'x'));
    expectForkOnce((await received()).headers, 'alice');
  });

  it('uses the configured header and baggage key', async () => {
    configure({ header: 'x-tenant-fork', baggageKey: 'fork' });
    const s = subject();
    const received = await next(s);
    runWithForkId('alice', () => nc.publish(s, 'x'));
    const got = (await received()).headers;
    expect(got?.keys().sort()).toEqual(['baggage', 'x-tenant-fork']);
    expect(got?.get('baggage')).toBe('fork=alice');
  });
});

describe('subscribing', () => {
  it('runs callbacks in the message’s fork, and carries it on to what they publish', async () => {
    const [first, second] = [subject(), subject()];
    const seen: Array<string | undefined> = [];
    nc.subscribe(first, {
      callback: (_error, msg) => {
        seen.push(getForkId());
        setTimeout(() => {
          seen.push(getForkId());
          nc.publish(second, msg.data);
        }, 5);
      },
    });
    await nc.flush();
    const received = await next(second);
    const h = headers();
    h.set(H, 'alice');
    raw.publish(first, 'x', { headers: h });
    expectForkOnce((await received()).headers, 'alice');
    expect(seen).toEqual(['alice', 'alice']);
  });

  it('reads aliases, then the baggage member, with the header first', async () => {
    configure({ aliases: ['x-fork-identifer'] });
    const s = subject();
    const seen = await record(nc, s);
    const send = (body: string, entries: Record<string, string>) => {
      const h = headers();
      for (const [key, value] of Object.entries(entries)) h.set(key, value);
      raw.publish(s, body, { headers: h });
    };
    send('alias', { 'x-fork-identifer': 'alice' });
    send('baggage', { baggage: `k=v,${H}=bob` });
    send('both', { [H]: 'carol', baggage: `${H}=bob` });
    raw.publish(s, 'none');
    await until(() => seen.length === 4, 'four messages');
    expect(seen).toEqual([
      { fork: 'alice', body: 'alias' },
      { fork: 'bob', body: 'baggage' },
      { fork: 'carol', body: 'both' },
      { fork: undefined, body: 'none' },
    ]);
  });

  it('drops the fork of messages trust refuses, and still delivers them', async () => {
    const connection = forkNats(await connect({ servers: server.servers }), {
      trust: (msg) => !msg.subject.startsWith('public.'),
    });
    const n = subjects++;
    const seen = await record(connection, `*.${n}`);
    const h = headers();
    h.set(H, 'alice');
    raw.publish(`internal.${n}`, 'in', { headers: h });
    raw.publish(`public.${n}`, 'out', { headers: h });
    await until(() => seen.length === 2, 'two messages');
    expect(seen).toEqual([
      { fork: 'alice', body: 'in' },
      { fork: undefined, body: 'out' },
    ]);
    await connection.close();
  });

  it('runInMessageFork gives for-await loops the message’s fork', async () => {
    const s = subject();
    const sub = nc.subscribe(s, { max: 2 });
    await nc.flush();
    const h = headers();
    h.set(H, 'alice');
    raw.publish(s, '1', { headers: h });
    raw.publish(s, '2');
    const seen: Array<string | undefined> = [];
    for await (const msg of sub) {
      seen.push(getForkId());
      seen.push(await runInMessageFork(msg, async () => getForkId()));
    }
    expect(seen).toEqual([undefined, 'alice', undefined, undefined]);
  });
});

describe('1,000 messages with distinct forks', () => {
  it('handles every message in its own fork and republishes it with that fork', async () => {
    const [input, output] = [subject(), subject()];
    const mismatched: string[] = [];
    nc.subscribe(input, {
      callback: (_error, msg) => {
        // Interleave: many handlers wait at once, each must keep its own fork.
        void (async () => {
          const expected = msg.string();
          await sleep(Math.random() * 5);
          if (getForkId() !== expected) mismatched.push(`${expected} ran as ${getForkId()}`);
          nc.publish(output, msg.data);
        })();
      },
    });
    const out = new Map<string, string[]>();
    raw.subscribe(output, {
      callback: (_error, msg) => {
        out.set(msg.string(), valuesOf(msg.headers, H));
      },
    });
    await nc.flush();
    await raw.flush();
    const forks = Array.from({ length: 1000 }, (_, i) => `fork-${i}`);
    for (const fork of forks) runWithForkId(fork, () => nc.publish(input, fork));
    await until(() => out.size === 1000, '1,000 republished messages', 50_000);
    expect(mismatched).toEqual([]);
    const wrong = forks.filter((fork) => JSON.stringify(out.get(fork)) !== JSON.stringify([fork]));
    expect(wrong).toEqual([]);
  });
});

/** What nats.js makes of header blocks it did not build itself. */
const NATS_OVERRIDES = new Map<string, MessageOutcome>([
  // nats.js refuses a header block with a bare CR or LF in a value: the fork is unreadable.
  ['a bare CR inside', { invalid: 'malformed' }],
  ['a bare LF inside', { invalid: 'malformed' }],
  // Two header lines in the block, as in HTTP.
  ['CRLF injecting a second fork header', { invalid: 'ambiguous' }],
  // nats.js's decoder drops a line without a colon: the folded " bob" is lost, "alice" is read.
  ['an obs-fold continuation line', { fork: 'alice' }],
  // nats.js refuses the whole header block (a space in a name); the message's fork is unreadable.
  ['a space before the colon', { invalid: 'malformed' }],
]);

describe('hostile headers', () => {
  it.each(HOSTILE_INPUTS)('$name: handled as baseline', async (input) => {
    const expected = messageOutcome(input, NATS_OVERRIDES);
    const reasons: InvalidReason[] = [];
    configure({ onInvalid: (_value, reason) => reasons.push(reason) });
    const s = subject();
    const seen = await record(nc, s);
    await hostile.publish(s, input.lines);
    await until(() => seen.length === 1, 'the hostile message');
    expect(seen).toEqual([{ fork: expectedFork(expected), body: 'x' }]);
    expect(reasons).toEqual(expectedReasons(expected));
  });
});
