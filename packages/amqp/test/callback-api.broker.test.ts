// forkChannel with amqplib's callback API (`amqplib/callback_api`) against a real RabbitMQ, and
// the bad-input corpus: every hostile header reaches a wrapped consumer, which handles and acks
// the message as baseline while onInvalid is told why.
import { promisify } from 'node:util';
import { configure, getForkId, type InvalidReason, runWithForkId } from '@kubefork/context';
import amqp from 'amqplib';
import callbackApi from 'amqplib/callback_api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  expectedFork,
  expectedReasons,
  HOSTILE_INPUTS,
  headerTableOf,
  messageOutcome,
} from '../../../test/support/message-hostile-inputs.js';
import { forkChannel } from '../src/index.js';
import { type RabbitMq, startRabbitMq } from './rabbitmq.js';
import { expectForkOnce, H, receive, until } from './support.js';

let broker: RabbitMq;
let connection: callbackApi.Connection;
let promises: amqp.ChannelModel;
let raw: amqp.Channel;

beforeAll(async () => {
  broker = await startRabbitMq();
  connection = await new Promise<callbackApi.Connection>((resolve, reject) =>
    callbackApi.connect(broker.url, (error: unknown, made: callbackApi.Connection) =>
      error ? reject(error) : resolve(made),
    ),
  );
  promises = await amqp.connect(broker.url);
  raw = await promises.createChannel();
});

afterAll(async () => {
  await promises?.close();
  if (connection !== undefined) await promisify(connection.close.bind(connection))();
  await broker?.stop();
});

afterEach(() => configure());

async function queue(): Promise<string> {
  // Not exclusive: the callback connection consumes what the promise connection declared.
  return (await raw.assertQueue('', { exclusive: false })).queue;
}

function channelOf(confirm = false): Promise<callbackApi.Channel> {
  return new Promise((resolve, reject) => {
    const done = (error: unknown, channel: callbackApi.Channel) =>
      error ? reject(error) : resolve(channel);
    if (confirm) connection.createConfirmChannel(done);
    else connection.createChannel(done);
  });
}

describe('the callback API', () => {
  it('publishes with the fork once', async () => {
    const channel = forkChannel(await channelOf());
    const q = await queue();
    runWithForkId('alice', () => channel.publish('', q, Buffer.from('x')));
    expectForkOnce((await receive(raw, q)).properties.headers, 'alice');
  });

  it('calls ConfirmChannel publish callbacks, with the fork on the message', async () => {
    const channel = forkChannel(await channelOf(true)) as callbackApi.ConfirmChannel;
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

  it('runs consume handlers in the message’s fork and still calls consume’s callback', async () => {
    const channel = forkChannel(await channelOf());
    const q = await queue();
    const seen: Array<string | undefined> = [];
    const tag = await new Promise<string>((resolve, reject) =>
      channel.consume(
        q,
        (message) => {
          if (message === null) return;
          seen.push(getForkId());
          channel.ack(message);
        },
        {},
        (error, ok) => (error ? reject(error) : resolve(ok.consumerTag)),
      ),
    );
    expect(tag).toMatch(/^amq\.ctag-/);
    raw.sendToQueue(q, Buffer.from('1'), { headers: { [H]: 'alice' } });
    raw.sendToQueue(q, Buffer.from('2'));
    await until(() => seen.length === 2, 'two messages');
    expect(seen).toEqual(['alice', undefined]);
  });
});

describe('fork-aware consumers', () => {
  it('are refused on the callback API, which they do not support', async () => {
    const channel = forkChannel(await channelOf());
    const q = await queue();
    expect(() =>
      channel.consume(q, () => {}, { forkAware: true, connection: promises } as never),
    ).toThrow(/option "forkAware" must be used on a channel of amqplib's promise API/);
  });
});

describe('hostile headers', () => {
  it.each(HOSTILE_INPUTS)('$name: handled and acked as baseline', async (input) => {
    const expected = messageOutcome(input);
    const reasons: InvalidReason[] = [];
    configure({ onInvalid: (_value, reason) => reasons.push(reason) });
    const channel = forkChannel(await channelOf());
    const q = await queue();
    const handled: Array<string | undefined> = [];
    channel.consume(q, (message) => {
      if (message === null) return;
      handled.push(getForkId());
      channel.ack(message);
    });
    raw.sendToQueue(q, Buffer.from('x'), { headers: headerTableOf(input) });
    await until(() => handled.length === 1, 'the hostile message');
    expect(handled).toEqual([expectedFork(expected)]);
    expect(reasons).toEqual(expectedReasons(expected));
    // Closing the channel would put an unacked message back in the queue.
    await promisify(channel.close.bind(channel))();
    expect((await raw.checkQueue(q)).messageCount).toBe(0);
  });
});
