import { configure, getForkId, runWithForkId } from '@kubefork/context';
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Importing @kubefork/otel registers the OpenTelemetry baggage as a fork source.
import '../src/index.js';

function withOtelBaggage<T>(entries: Record<string, string>, fn: () => T): T {
  const baggage = propagation.createBaggage(
    Object.fromEntries(Object.entries(entries).map(([key, value]) => [key, { value }])),
  );
  return context.with(propagation.setBaggage(ROOT_CONTEXT, baggage), fn);
}

describe('getForkId falls back to OpenTelemetry baggage', () => {
  it('ignores OpenTelemetry while no context manager is registered', () => {
    expect(withOtelBaggage({ 'x-fork-identifier': 'alice' }, () => getForkId())).toBeUndefined();
  });

  describe('with a context manager', () => {
    beforeAll(() => {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    });
    afterAll(() => {
      context.disable();
      configure();
    });

    it('returns the baggage entry when our store has no value', async () => {
      const seen = await withOtelBaggage({ 'x-fork-identifier': 'alice', other: 'x' }, async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return getForkId();
      });
      expect(seen).toBe('alice');
    });

    it('prefers our store, including an explicit no-fork scope', () => {
      withOtelBaggage({ 'x-fork-identifier': 'alice' }, () => {
        expect(runWithForkId('bob', () => getForkId())).toBe('bob');
        expect(runWithForkId(undefined, () => getForkId())).toBeUndefined();
      });
    });

    it('ignores an invalid baggage value', () => {
      expect(
        withOtelBaggage({ 'x-fork-identifier': 'not valid' }, () => getForkId()),
      ).toBeUndefined();
    });

    it('uses the configured baggage key, and nothing when it is null', () => {
      configure({ baggageKey: 'sandbox' });
      expect(withOtelBaggage({ sandbox: 'dev1' }, () => getForkId())).toBe('dev1');
      configure({ baggageKey: null });
      expect(withOtelBaggage({ 'x-fork-identifier': 'dev1' }, () => getForkId())).toBeUndefined();
      configure();
    });
  });
});
