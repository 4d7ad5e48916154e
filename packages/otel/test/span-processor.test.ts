import { runWithForkId } from '@kubefork/context';
import { defaultTextMapGetter, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FORK_ID_ATTRIBUTE, ForkPropagator, forkSpanProcessor } from '../src/index.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  spanProcessors: [forkSpanProcessor(), new SimpleSpanProcessor(exporter)],
});
const tracer = provider.getTracer('test');

afterEach(() => exporter.reset());
afterAll(() => provider.shutdown());

/** Starts and ends a span named `name`, returns the attribute as exported. */
function forkOfSpan(name: string, parent = ROOT_CONTEXT): unknown {
  tracer.startSpan(name, {}, parent).end();
  return exporter.getFinishedSpans().find((span) => span.name === name)?.attributes[
    FORK_ID_ATTRIBUTE
  ];
}

describe('forkSpanProcessor', () => {
  it('names the attribute kubefork.fork_id', () => {
    expect(FORK_ID_ATTRIBUTE).toBe('kubefork.fork_id');
  });

  it('sets the attribute on a span started in a fork', () => {
    expect(runWithForkId('alice', () => forkOfSpan('in-fork'))).toBe('alice');
  });

  it('sets no attribute on a span started outside a fork', () => {
    expect(forkOfSpan('outside')).toBeUndefined();
  });

  it('sets no attribute inside an explicit no-fork scope', () => {
    expect(runWithForkId(undefined, () => forkOfSpan('baseline'))).toBeUndefined();
  });

  it('sets the attribute on spans started after an await in a fork', async () => {
    const seen = await runWithForkId('alice', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return forkOfSpan('after-await');
    });
    expect(seen).toBe('alice');
  });

  it('reads the fork from a parent context extracted by ForkPropagator', () => {
    const parent = new ForkPropagator().extract(
      ROOT_CONTEXT,
      { 'x-fork-identifier': 'bob' },
      defaultTextMapGetter,
    );
    expect(forkOfSpan('extracted', parent)).toBe('bob');
  });

  it('ignores an invalid baggage entry in the parent context', () => {
    const parent = propagation.setBaggage(
      ROOT_CONTEXT,
      propagation.createBaggage({ 'x-fork-identifier': { value: 'not valid' } }),
    );
    expect(forkOfSpan('invalid', parent)).toBeUndefined();
  });

  it('flushes and shuts down without work of its own', async () => {
    const processor = forkSpanProcessor();
    await expect(processor.forceFlush()).resolves.toBeUndefined();
    await expect(processor.shutdown()).resolves.toBeUndefined();
  });
});
