// A service instrumented only by OpenTelemetry (no kubefork middleware, no @kubefork/auto):
// OpenTelemetry's own HTTP server, http client and undici instrumentations, with ForkPropagator
// last in the composite propagator. Real servers on loopback.
import type { Server } from 'node:http';
import { configure, getForkId, type InvalidReason } from '@kubefork/context';
import { propagation, SpanKind } from '@opentelemetry/api';
import * as core from '@opentelemetry/core';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FORK_ID_ATTRIBUTE, ForkPropagator, forkSpanProcessor } from '../src/index.js';
import { close, httpGet, listen, recorder, requireHttp } from './support.js';

// The README's setup, with an in-memory exporter.
const exporter = new InMemorySpanExporter();
const trace = new core.W3CTraceContextPropagator();
const baggage = new core.W3CBaggagePropagator();
const fork = new ForkPropagator();
const propagator = new core.CompositePropagator({ propagators: [trace, baggage, fork] });
const spanProcessors = [forkSpanProcessor(), new SimpleSpanProcessor(exporter)];
const provider = new NodeTracerProvider({ spanProcessors });
provider.register({ propagator });
const instrumentations = [new HttpInstrumentation(), new UndiciInstrumentation()];
const http = requireHttp();

const downstream = recorder(http);
let downstreamUrl = '';
/** What the service's handler saw as its fork, per request. */
const handlerForks: Array<string | undefined> = [];

// The service: a plain node:http listener. It only calls downstream, by fetch or http.request.
const service: Server = http.createServer(async (req, res) => {
  handlerForks.push(getForkId());
  const target = `${downstreamUrl}${req.url}`;
  if (req.url?.startsWith('/fetch')) await (await fetch(target)).arrayBuffer();
  else if (req.url?.startsWith('/http')) await httpGet(http, target);
  res.end('ok');
});
let serviceUrl = '';

beforeAll(async () => {
  downstreamUrl = await listen(downstream.server);
  serviceUrl = await listen(service);
});

afterEach(() => {
  downstream.seen.length = 0;
  handlerForks.length = 0;
  exporter.reset();
  configure();
});

afterAll(async () => {
  await close(service);
  await close(downstream.server);
  for (const instrumentation of instrumentations) instrumentation.disable();
  await provider.shutdown();
  propagation.disable();
});

describe('a service instrumented only by OpenTelemetry', () => {
  it('sees the fork of an inbound header in getForkId()', async () => {
    await httpGet(http, `${serviceUrl}/`, { 'x-fork-identifier': 'alice' });
    expect(handlerForks).toEqual(['alice']);
  });

  it('sees the fork of an inbound baggage member in getForkId()', async () => {
    await httpGet(http, `${serviceUrl}/`, { baggage: 'userId=42,x-fork-identifier=alice' });
    expect(handlerForks).toEqual(['alice']);
  });

  it('serves an invalid inbound header as baseline and tells onInvalid', async () => {
    const reasons: InvalidReason[] = [];
    configure({ onInvalid: (_value, reason) => reasons.push(reason) });
    await httpGet(http, `${serviceUrl}/`, {
      'x-fork-identifier': 'not/valid',
      baggage: 'x-fork-identifier=bob',
    });
    expect(handlerForks).toEqual([undefined]);
    expect(reasons).toContain('pattern');
  });

  describe.each(['fetch', 'http'])('calling downstream with %s', (client) => {
    const path = `/${client}`;

    it('forwards a header-only fork as one header and one baggage member', async () => {
      await httpGet(http, `${serviceUrl}${path}`, { 'x-fork-identifier': 'alice' });
      expect(downstream.seen).toHaveLength(1);
      expect(downstream.seen[0]?.forkHeaders).toEqual(['alice']);
      expect(downstream.seen[0]?.forkMembers).toEqual(['x-fork-identifier=alice']);
    });

    it('forwards a baggage-only fork as one header, the member kept once', async () => {
      await httpGet(http, `${serviceUrl}${path}`, { baggage: 'userId=42,x-fork-identifier=alice' });
      expect(downstream.seen[0]?.forkHeaders).toEqual(['alice']);
      expect(downstream.seen[0]?.forkMembers).toEqual(['x-fork-identifier=alice']);
      expect(downstream.seen[0]?.baggageLines.join(',')).toContain('userId=42');
    });

    it('forwards the header when header and baggage member differ, baggage agreeing', async () => {
      await httpGet(http, `${serviceUrl}${path}`, {
        'x-fork-identifier': 'alice',
        baggage: 'x-fork-identifier=bob',
      });
      expect(downstream.seen[0]?.forkHeaders).toEqual(['alice']);
      expect(downstream.seen[0]?.forkMembers).toEqual(['x-fork-identifier=alice']);
    });

    it('forwards nothing of ours for a request without a fork', async () => {
      await httpGet(http, `${serviceUrl}${path}`, { baggage: 'userId=42' });
      expect(downstream.seen[0]?.forkHeaders).toEqual([]);
      expect(downstream.seen[0]?.forkMembers).toEqual([]);
    });

    it('forwards nothing of ours for an invalid inbound header', async () => {
      await httpGet(http, `${serviceUrl}${path}`, {
        'x-fork-identifier': 'a b',
        baggage: 'x-fork-identifier=bob',
      });
      expect(downstream.seen[0]?.forkHeaders).toEqual([]);
      expect(downstream.seen[0]?.forkMembers).toEqual([]);
    });
  });

  it('tags the spans started in the fork, and not the caller span outside it', async () => {
    await httpGet(http, `${serviceUrl}/fetch`, { 'x-fork-identifier': 'alice' });
    const tagged = exporter
      .getFinishedSpans()
      .map((span) =>
        [
          span.instrumentationScope.name,
          SpanKind[span.kind],
          span.attributes[FORK_ID_ATTRIBUTE],
        ].join(' '),
      )
      .sort();
    expect(tagged).toEqual([
      // The test's own http.request, outside any fork.
      '@opentelemetry/instrumentation-http CLIENT ',
      // The downstream's and the service's server spans.
      '@opentelemetry/instrumentation-http SERVER alice',
      '@opentelemetry/instrumentation-http SERVER alice',
      // The service's fetch.
      '@opentelemetry/instrumentation-undici CLIENT alice',
    ]);
  });
});
