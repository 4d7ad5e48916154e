// forkNats with JetStream (@nats-io/jetstream) against a real nats-server started with -js.
import { configure, getForkId, runWithForkId } from '@kubefork/context';
import { AckPolicy, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { forkNats, runInMessageFork } from '../src/index.js';
import { type NatsServer, startNats } from './nats-server.js';
import { expectForkOnce, H, until, valuesOf } from './support.js';

let server: NatsServer;
let nc: NatsConnection;
let streams = 0;

beforeAll(async () => {
  server = await startNats();
  nc = forkNats(await connect({ servers: server.servers }));
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

afterEach(() => configure());

/** A fresh stream with one durable pull consumer; returns its subject and consumer. */
async function stream() {
  const name = `S${++streams}`;
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name, subjects: [`${name}.>`] });
  await jsm.consumers.add(name, { durable_name: 'c', ack_policy: AckPolicy.Explicit });
  const consumer = await jetstream(nc).consumers.get(name, 'c');
  return { subject: `${name}.events`, consumer, jsm, name };
}

describe('JetStream', () => {
  it('publishes with the fork once, stored in the stream', async () => {
    const { subject, jsm, name } = await stream();
    const js = jetstream(nc);
    const given = headers();
    given.set('other', 'kept');
    const ack = await runWithForkId('alice', () =>
      js.publish(subject, 'x', { headers: given, msgID: 'm1' }),
    );
    const stored = await jsm.streams.getMessage(name, { seq: ack.seq });
    expectForkOnce(stored?.header, 'alice');
    expect(stored?.header.get('other')).toBe('kept');
    expect(stored?.header.get('Nats-Msg-Id')).toBe('m1');
    // nats.js adds Nats-Msg-Id to the caller's headers itself; nothing of ours goes there.
    expect(valuesOf(given, H)).toEqual([]);
    expect(valuesOf(given, 'baggage')).toEqual([]);
  });

  it('runs consume() callbacks in each message’s fork', async () => {
    const { subject, consumer } = await stream();
    const js = jetstream(nc);
    for (const fork of ['alice', 'bob', undefined]) {
      await runWithForkId(fork, () => js.publish(subject, fork ?? 'none'));
    }
    const seen: Array<{ fork: string | undefined; body: string }> = [];
    const messages = await consumer.consume({
      callback: (msg: JsMsg) => {
        seen.push({ fork: getForkId(), body: msg.string() });
        msg.ack();
      },
    });
    await until(() => seen.length === 3, 'three messages');
    await messages.close();
    expect(seen).toEqual([
      { fork: 'alice', body: 'alice' },
      { fork: 'bob', body: 'bob' },
      { fork: undefined, body: 'none' },
    ]);
  });

  it('runInMessageFork works on JsMsg from a consume() iterator and from fetch()', async () => {
    const { subject, consumer } = await stream();
    const js = jetstream(nc);
    await runWithForkId('alice', () => js.publish(subject, '1'));
    await runWithForkId('bob', () => js.publish(subject, '2'));
    const fetched: Array<string | undefined> = [];
    for await (const msg of await consumer.fetch({ max_messages: 1, expires: 2000 })) {
      fetched.push(runInMessageFork(msg, () => getForkId()));
      msg.ack();
    }
    const consumed: Array<string | undefined> = [];
    const messages = await consumer.consume();
    for await (const msg of messages) {
      consumed.push(await runInMessageFork(msg, async () => getForkId()));
      msg.ack();
      break;
    }
    expect(fetched).toEqual(['alice']);
    expect(consumed).toEqual(['bob']);
  });

  it('handles 1,000 messages with distinct forks, none mismatched', async () => {
    const { subject, consumer } = await stream();
    const js = jetstream(nc);
    const forks = Array.from({ length: 1000 }, (_, i) => `fork-${i}`);
    await Promise.all(forks.map((fork) => runWithForkId(fork, () => js.publish(subject, fork))));
    const mismatched: string[] = [];
    let handled = 0;
    const messages = await consumer.consume({
      callback: (msg: JsMsg) => {
        const expected = msg.string();
        if (getForkId() !== expected || valuesOf(msg.headers, H)[0] !== expected) {
          mismatched.push(`${expected} ran as ${getForkId()}`);
        }
        msg.ack();
        handled++;
      },
    });
    await until(() => handled === 1000, '1,000 messages', 50_000);
    await messages.close();
    expect(mismatched).toEqual([]);
  });
});
