// The oldest amqplib in the peer range (0.10, installed as `amqplib-0.10`), promise API, against
// a real RabbitMQ: publish carries the fork once, consume runs in the message's fork, confirm
// callbacks are still called.
import { createRequire } from 'node:module';
import { getForkId, runWithForkId } from '@kubefork/context';
import type amqpTypes from 'amqplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { forkChannel } from '../src/index.js';
import { type RabbitMq, startRabbitMq } from './rabbitmq.js';
import { expectForkOnce, H, receive, until } from './support.js';

// Typed as the current amqplib: 0.10's API is the same for what is used here.
const amqp = createRequire(import.meta.url)('amqplib-0.10') as typeof amqpTypes;

let broker: RabbitMq;
let connection: amqpTypes.ChannelModel;
let raw: amqpTypes.Channel;

beforeAll(async () => {
  broker = await startRabbitMq();
  connection = await amqp.connect(broker.url);
  raw = await connection.createChannel();
});

afterAll(async () => {
  await connection?.close();
  await broker?.stop();
});

const queue = async () => (await raw.assertQueue('', { exclusive: true })).queue;

it('is amqplib 0.10', () => {
  expect(createRequire(import.meta.url)('amqplib-0.10/package.json').version).toMatch(/^0\.10\./);
});

it('publishes and sends to a queue with the fork once', async () => {
  const channel = forkChannel(await connection.createChannel());
  const q = await queue();
  runWithForkId('alice', () => channel.sendToQueue(q, Buffer.from('1')));
  runWithForkId('bob', () => channel.publish('', q, Buffer.from('2'), { headers: { k: 'v' } }));
  expectForkOnce((await receive(raw, q)).properties.headers, 'alice');
  expectForkOnce((await receive(raw, q)).properties.headers, 'bob');
});

it('runs consume handlers in the message’s fork', async () => {
  const channel = forkChannel(await connection.createChannel());
  const q = await queue();
  const seen: Array<string | undefined> = [];
  await channel.consume(q, (message) => {
    if (message === null) return;
    seen.push(getForkId());
    channel.ack(message);
  });
  raw.sendToQueue(q, Buffer.from('x'), { headers: { [H]: 'alice' } });
  raw.sendToQueue(q, Buffer.from('y'));
  await until(() => seen.length === 2, 'two messages');
  expect(seen).toEqual(['alice', undefined]);
});

it('still calls ConfirmChannel publish callbacks', async () => {
  const channel = forkChannel(await connection.createConfirmChannel());
  const q = await queue();
  const result = await runWithForkId(
    'alice',
    () =>
      new Promise<unknown>((resolve) =>
        channel.sendToQueue(q, Buffer.from('x'), {}, (error) => resolve(error ?? 'acked')),
      ),
  );
  expect(result).toBe('acked');
  expectForkOnce((await receive(raw, q)).properties.headers, 'alice');
});
