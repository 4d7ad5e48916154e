// Shared by the two load-order suites: OpenTelemetry's amqplib instrumentation with
// ForkPropagator, and forkChannel, both active in one process. Every message must carry the fork
// header once and our baggage member once, and OpenTelemetry must still record its spans.
import { createRequire } from 'node:module';
import { configure, getForkId, runWithForkId } from '@kubefork/context';
import { ForkPropagator } from '@kubefork/otel';
import { propagation } from '@opentelemetry/api';
import * as core from '@opentelemetry/core';
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type amqpTypes from 'amqplib';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { forkChannel } from '../src/index.js';
import { type RabbitMq, startRabbitMq } from './rabbitmq.js';
import { expectForkOnce, H, receive, until, valuesOf } from './support.js';

/**
 * - `otel-first`: OpenTelemetry is set up and patches amqplib before any channel is wrapped.
 * - `kubefork-first`: the channels are wrapped while the instrumentation is disabled, then it is
 *   enabled and patches amqplib's prototypes beneath the wrappers.
 */
export function describeExactlyOnce(order: 'otel-first' | 'kubefork-first'): void {
  const exporter = new InMemorySpanExporter();
  let provider: NodeTracerProvider;
  let instrumentation: AmqplibInstrumentation;
  let broker: RabbitMq;
  let connection: amqpTypes.ChannelModel;
  let raw: amqpTypes.Channel;
  let channel: amqpTypes.Channel;
  let confirm: amqpTypes.ConfirmChannel;

  beforeAll(async () => {
    broker = await startRabbitMq();
    provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    provider.register({
      propagator: new core.CompositePropagator({
        propagators: [
          new core.W3CTraceContextPropagator(),
          new core.W3CBaggagePropagator(),
          new ForkPropagator(),
        ],
      }),
    });
    instrumentation = new AmqplibInstrumentation();
    instrumentation.setTracerProvider(provider);
    // The instrumentation patches amqplib when it is required (CommonJS), as in a service.
    const amqp = createRequire(import.meta.url)('amqplib') as typeof amqpTypes;
    if (order === 'kubefork-first') instrumentation.disable();
    connection = await amqp.connect(broker.url);
    raw = await connection.createChannel();
    channel = forkChannel(await connection.createChannel());
    confirm = forkChannel(await connection.createConfirmChannel());
    if (order === 'kubefork-first') instrumentation.enable();
  });

  afterEach(() => {
    configure();
    exporter.reset();
  });

  afterAll(async () => {
    await connection?.close();
    instrumentation?.disable();
    await provider?.shutdown();
    propagation.disable();
    await broker?.stop();
  });

  async function queue(): Promise<string> {
    return (await raw.assertQueue('', { exclusive: true })).queue;
  }

  it('sends one header and one member from a runWithForkId scope, and OpenTelemetry traces it', async () => {
    const q = await queue();
    runWithForkId('alice', () => channel.sendToQueue(q, Buffer.from('x')));
    const headers = (await receive(raw, q)).properties.headers;
    expectForkOnce(headers, 'alice');
    expect(valuesOf(headers, 'traceparent')).toHaveLength(1);
    expect(exporter.getFinishedSpans().map((span) => span.name)).toContain('publish <default>');
  });

  it('sends one header and one member through a ConfirmChannel, callback called', async () => {
    const q = await queue();
    const result = await runWithForkId(
      'alice',
      () =>
        new Promise<unknown>((resolve) =>
          confirm.publish('', q, Buffer.from('x'), {}, (error) => resolve(error ?? 'acked')),
        ),
    );
    expect(result).toBe('acked');
    expectForkOnce((await receive(raw, q)).properties.headers, 'alice');
  });

  it('keeps a header the caller set, sent once', async () => {
    const q = await queue();
    runWithForkId('alice', () =>
      channel.sendToQueue(q, Buffer.from('x'), { headers: { [H]: 'bob' } }),
    );
    expectForkOnce((await receive(raw, q)).properties.headers, 'bob');
  });

  it('merges into a baggage header the caller set, other members kept', async () => {
    const q = await queue();
    runWithForkId('alice', () =>
      channel.sendToQueue(q, Buffer.from('x'), { headers: { baggage: 'k=v' } }),
    );
    const headers = (await receive(raw, q)).properties.headers;
    expectForkOnce(headers, 'alice');
    expect(headers?.baggage).toContain('k=v');
  });

  it('runs a consumer in the message’s fork and forwards it once', async () => {
    const [first, second] = [await queue(), await queue()];
    const seen: Array<string | undefined> = [];
    await channel.consume(first, (message) => {
      if (message === null) return;
      seen.push(getForkId());
      channel.sendToQueue(second, message.content);
      channel.ack(message);
    });
    raw.sendToQueue(first, Buffer.from('x'), {
      headers: { [H]: 'alice', baggage: `userId=42,${H}=alice` },
    });
    const headers = (await receive(raw, second)).properties.headers;
    expect(seen).toEqual(['alice']);
    expectForkOnce(headers, 'alice');
    expect(headers?.baggage).toContain('userId=42');
    await until(
      () => exporter.getFinishedSpans().some((span) => span.name === `${first} process`),
      'the consumer span',
    );
  });
}
