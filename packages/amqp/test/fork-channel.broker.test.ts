// forkChannel with amqplib's promise API against a real RabbitMQ.
import { setTimeout as sleep } from 'node:timers/promises';
import { configure, getForkId, runWithForkId } from '@kubefork/context';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { forkChannel, runInMessageFork } from '../src/index.js';
import { type RabbitMq, startRabbitMq } from './rabbitmq.js';
import { expectForkOnce, expectNoFork, H, receive, until, valuesOf } from './support.js';

let broker: RabbitMq;
let connection: ChannelModel;
/** Unwrapped: publishes hand-made headers and reads what really reached the broker. */
let raw: Channel;

beforeAll(async () => {
  broker = await startRabbitMq();
  connection = await amqp.connect(broker.url);
  raw = await connection.createChannel();
});

afterAll(async () => {
  await connection?.close();
  await broker?.stop();
});

afterEach(() => configure());

async function queue(): Promise<string> {
  return (await raw.assertQueue('', { exclusive: true })).queue;
}

/** Consumes `queue` on `channel`, recording the fork each handler ran in, then acks. */
async function record(channel: Channel, name: string) {
  const seen: Array<{ fork: string | undefined; body: string }> = [];
  await channel.consume(name, (message) => {
    if (message === null) return;
    seen.push({ fork: getForkId(), body: message.content.toString() });
    channel.ack(message);
  });
  return seen;
}

describe('publishing', () => {
  it('adds the fork header and our baggage member once inside a fork', async () => {
    const channel = forkChannel(await connection.createChannel());
    const q = await queue();
    runWithForkId('alice', () => channel.publish('', q, Buffer.from('x')));
    expectForkOnce((await receive(raw, q)).properties.headers, 'alice');
  });

  it('adds them once through sendToQueue', async () => {
    const channel = forkChannel(await connection.createChannel());
    const q = await queue();
    runWithForkId('alice', () => channel.sendToQueue(q, Buffer.from('x')));
    expectForkOnce((await receive(raw, q)).properties.headers, 'alice');
  });

  it('adds nothing outside a fork', async () => {
    const channel = forkChannel(await connection.createChannel());
    const q = await queue();
    channel.sendToQueue(q, Buffer.from('x'), { headers: { other: 'kept' } });
    const headers = (await receive(raw, q)).properties.headers;
    expectNoFork(headers);
    expect(headers).toEqual({ other: 'kept' });
  });

  it('keeps a fork header the caller set, in any case, and makes baggage agree with it', async () => {
    const channel = forkChannel(await connection.createChannel());
    const q = await queue();
    runWithForkId('alice', () =>
      channel.sendToQueue(q, Buffer.from('x'), { headers: { 'X-Fork-Identifier': 'bob' } }),
    );
    const headers = (await receive(raw, q)).properties.headers;
    expect(headers?.['X-Fork-Identifier']).toBe('bob');
    expectForkOnce(headers, 'bob');
  });

  it('merges our member into the caller’s baggage, other members kept', async () => {
    const channel = forkChannel(await connection.createChannel());
    const q = await queue();
    runWithForkId('alice', () =>
      channel.sendToQueue(q, Buffer.from('x'), {
        headers: { Baggage: `userId=42,${H}=bob;p=1,k=v;prop` },
      }),
    );
    const headers = (await receive(raw, q)).properties.headers;
    expectForkOnce(headers, 'alice');
    expect(headers?.Baggage).toBe(`${H}=alice,userId=42,k=v;prop`);
  });

  it('never writes to the caller’s options, which may be reused for the next message', async () => {
    const channel = forkChannel(await connection.createChannel());
    const q = await queue();
    const options = { persistent: true, headers: { other: 'kept' } };
    runWithForkId('alice', () => channel.sendToQueue(q, Buffer.from('1'), options));
    channel.sendToQueue(q, Buffer.from('2'), options);
    expect(options).toEqual({ persistent: true, headers: { other: 'kept' } });
    expectForkOnce((await receive(raw, q)).properties.headers, 'alice');
    expectNoFork((await receive(raw, q)).properties.headers);
  });

  it('adds the fork once when the channel is wrapped twice', async () => {
    const channel = forkChannel(forkChannel(await connection.createChannel()));
    const q = await queue();
    runWithForkId('alice', () =>
      channel.publish('', q, Buffer.from('x'), { headers: { baggage: 'k=v' } }),
    );
    const headers = (await receive(raw, q)).properties.headers;
    expectForkOnce(headers, 'alice');
    expect(headers?.baggage).toBe(`${H}=alice,k=v`);
  });

  it('uses the configured header and baggage key', async () => {
    configure({ header: 'x-tenant-fork', baggageKey: 'fork' });
    const channel = forkChannel(await connection.createChannel());
    const q = await queue();
    runWithForkId('alice', () => channel.sendToQueue(q, Buffer.from('x')));
    const headers = (await receive(raw, q)).properties.headers;
    expect(headers).toEqual({ 'x-tenant-fork': 'alice', baggage: 'fork=alice' });
  });

  it('still calls publish callbacks of a ConfirmChannel, with the fork on the message', async () => {
    const channel = forkChannel(await connection.createConfirmChannel());
    const q = await queue();
    const confirmed = await runWithForkId(
      'alice',
      () =>
        new Promise<unknown>((resolve) =>
          channel.sendToQueue(q, Buffer.from('x'), {}, (error) => resolve(error ?? 'acked')),
        ),
    );
    expect(confirmed).toBe('acked');
    await channel.waitForConfirms();
    expectForkOnce((await receive(raw, q)).properties.headers, 'alice');
  });
});

describe('consuming', () => {
  it('runs the handler in the message’s fork, after await too', async () => {
    const channel = forkChannel(await connection.createChannel());
    const q = await queue();
    const seen: Array<string | undefined> = [];
    await channel.consume(q, async (message) => {
      if (message === null) return;
      seen.push(getForkId());
      await sleep(5);
      seen.push(getForkId());
      channel.ack(message);
    });
    raw.sendToQueue(q, Buffer.from('x'), { headers: { [H]: 'alice' } });
    await until(() => seen.length === 2, 'the handler');
    expect(seen).toEqual(['alice', 'alice']);
  });

  it('carries the fork on to what the handler publishes', async () => {
    const channel = forkChannel(await connection.createChannel());
    const [first, second] = [await queue(), await queue()];
    await channel.consume(first, (message) => {
      if (message === null) return;
      channel.sendToQueue(second, message.content);
      channel.ack(message);
    });
    raw.sendToQueue(first, Buffer.from('x'), { headers: { [H]: 'alice' } });
    expectForkOnce((await receive(raw, second)).properties.headers, 'alice');
  });

  it('reads aliases, then the baggage member, with the header first', async () => {
    configure({ aliases: ['x-fork-identifer'] });
    const channel = forkChannel(await connection.createChannel());
    const q = await queue();
    const seen = await record(channel, q);
    raw.sendToQueue(q, Buffer.from('alias'), { headers: { 'x-fork-identifer': 'alice' } });
    raw.sendToQueue(q, Buffer.from('baggage'), { headers: { baggage: `k=v,${H}=bob` } });
    raw.sendToQueue(q, Buffer.from('both'), {
      headers: { [H]: 'carol', baggage: `${H}=bob` },
    });
    raw.sendToQueue(q, Buffer.from('none'));
    await until(() => seen.length === 4, 'four messages');
    expect(seen).toEqual([
      { fork: 'alice', body: 'alias' },
      { fork: 'bob', body: 'baggage' },
      { fork: 'carol', body: 'both' },
      { fork: undefined, body: 'none' },
    ]);
  });

  it('reads a fork sent as an AMQP byte array (clients that send bytes)', async () => {
    const channel = forkChannel(await connection.createChannel());
    const q = await queue();
    const seen = await record(channel, q);
    raw.sendToQueue(q, Buffer.from('x'), { headers: { [H]: Buffer.from('alice') } });
    await until(() => seen.length === 1, 'the message');
    expect(seen[0]?.fork).toBe('alice');
  });

  it('runs as baseline and tells onInvalid about a value that is not text', async () => {
    const reports: string[] = [];
    configure({ onInvalid: (value, reason) => reports.push(`${reason}: ${value}`) });
    const channel = forkChannel(await connection.createChannel());
    const q = await queue();
    const seen = await record(channel, q);
    raw.sendToQueue(q, Buffer.from('x'), {
      headers: { [H]: true, baggage: `${H}=alice` },
    });
    await until(() => seen.length === 1, 'the message');
    expect(seen[0]?.fork).toBeUndefined();
    expect(reports).toEqual(['characters: [not text: boolean]']);
  });

  it('drops the fork of messages trust refuses, and still delivers them', async () => {
    const channel = forkChannel(await connection.createChannel(), {
      trust: (message) => message.properties.appId === 'internal',
    });
    const q = await queue();
    const seen = await record(channel, q);
    raw.sendToQueue(q, Buffer.from('in'), { appId: 'internal', headers: { [H]: 'alice' } });
    raw.sendToQueue(q, Buffer.from('out'), { appId: 'partner', headers: { [H]: 'alice' } });
    await until(() => seen.length === 2, 'two messages');
    expect(seen).toEqual([
      { fork: 'alice', body: 'in' },
      { fork: undefined, body: 'out' },
    ]);
  });

  it('runs a handler once per message when the channel is wrapped twice', async () => {
    const channel = forkChannel(await connection.createChannel());
    forkChannel(channel);
    const q = await queue();
    const seen = await record(channel, q);
    raw.sendToQueue(q, Buffer.from('x'), { headers: { [H]: 'alice' } });
    await until(() => seen.length === 1, 'the message');
    await sleep(50);
    expect(seen).toEqual([{ fork: 'alice', body: 'x' }]);
  });

  it('passes the broker’s cancel notification (null) on to the handler', async () => {
    const channel = forkChannel(await connection.createChannel());
    const q = (await channel.assertQueue('', { exclusive: false })).queue;
    const got: Array<ConsumeMessage | null> = [];
    await channel.consume(q, (message) => got.push(message));
    await raw.deleteQueue(q);
    await until(() => got.length === 1, 'the cancel notification');
    expect(got).toEqual([null]);
  });

  it('runInMessageFork runs work on a message from channel.get in its fork', async () => {
    const q = await queue();
    raw.sendToQueue(q, Buffer.from('x'), { headers: { [H]: 'alice' } });
    const message = await receive(raw, q);
    expect(runInMessageFork(message, () => getForkId())).toBe('alice');
    expect(runInMessageFork(message, () => getForkId(), { trust: () => false })).toBeUndefined();
  });
});

describe('1,000 messages with distinct forks', () => {
  it('handles every message in its own fork and republishes it with that fork', async () => {
    const consumer = forkChannel(await connection.createChannel());
    await consumer.prefetch(100);
    const producer = forkChannel(await connection.createChannel());
    const [input, output] = [await queue(), await queue()];
    const mismatched: string[] = [];
    let handled = 0;
    await consumer.consume(input, async (message) => {
      if (message === null) return;
      const expected = message.content.toString();
      // Interleave: many handlers are suspended at once, each must keep its own fork.
      await sleep(Math.random() * 5);
      if (getForkId() !== expected) mismatched.push(`${expected} ran as ${getForkId()}`);
      consumer.sendToQueue(output, message.content);
      consumer.ack(message);
      handled++;
    });
    const forks = Array.from({ length: 1000 }, (_, i) => `fork-${i}`);
    for (const fork of forks) {
      runWithForkId(fork, () => producer.sendToQueue(input, Buffer.from(fork)));
    }
    await until(() => handled === 1000, '1,000 handled messages', 50_000);
    expect(mismatched).toEqual([]);

    const out = new Map<string, unknown[]>();
    const reader = await connection.createChannel();
    await reader.consume(
      output,
      (message) => {
        if (message !== null)
          out.set(message.content.toString(), valuesOf(message.properties.headers, H));
      },
      { noAck: true },
    );
    await until(() => out.size === 1000, '1,000 republished messages', 50_000);
    const wrong = forks.filter((fork) => JSON.stringify(out.get(fork)) !== JSON.stringify([fork]));
    expect(wrong).toEqual([]);
  });
});
