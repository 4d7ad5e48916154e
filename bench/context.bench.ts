// Micro-benchmarks of @kubefork/context's per-request operations.
//
// Prints ns/op and the ratio to an empty-function baseline measured in the same run. Each case
// is measured in several interleaved rounds (baseline, cases, baseline, cases, …) and the
// median round is reported, because these machines are noisy.
//
//   pnpm bench                      # all benchmarks
//   node --import tsx context.bench.ts   # this file only (from bench/, after `pnpm build`)

import { configure, extractForkId, forkHeaders, getForkId, runWithForkId } from '@kubefork/context';
import { do_not_optimize, measure } from 'mitata';
import { printTable } from './support/table.js';

const QUICK = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 5));

configure({ aliases: ['x-fork-identifer'] });

/** What Node hands a server for a typical proxied request with a fork: 12 headers. */
const typicalRequest = {
  host: 'orders.shop.svc.cluster.local:8080',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36',
  accept: 'application/json',
  'accept-encoding': 'gzip, deflate, br',
  'accept-language': 'en-US,en;q=0.9',
  'content-type': 'application/json',
  'content-length': '42',
  'x-request-id': '6f1c1a3e-8a4b-4d2c-9a55-0f1b2c3d4e5f',
  'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
  traceparent: '00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01',
  connection: 'keep-alive',
  'x-fork-identifier': 'alice',
};
const { 'x-fork-identifier': _omitted, ...withoutFork } = typicalRequest;
const baggageOnly = { ...withoutFork, baggage: 'userId=42,tenant=acme,x-fork-identifier=alice' };

interface Case {
  name: string;
  fn: () => unknown;
  /** Measure inside a fork scope entered once around the whole measurement. */
  inFork?: boolean;
  /** Target from the issue, in ns/op, where one is set. */
  target?: number;
}

function noop(): void {}

const cases: Case[] = [
  { name: 'getForkId() outside a fork', fn: getForkId, target: 50 },
  { name: 'getForkId() inside a fork', fn: getForkId, inFork: true, target: 50 },
  {
    name: 'extractForkId(12 headers, fork header)',
    fn: () => extractForkId(typicalRequest),
    target: 1000,
  },
  {
    name: 'extractForkId(11 headers, no fork)',
    fn: () => extractForkId(withoutFork),
    target: 1000,
  },
  { name: 'extractForkId(12 headers, baggage only)', fn: () => extractForkId(baggageOnly) },
  { name: 'forkHeaders() inside a fork', fn: () => forkHeaders(), inFork: true },
  { name: 'runWithForkId(id, noop)', fn: () => runWithForkId('alice', noop) },
];

async function measureCase({ fn, inFork }: Pick<Case, 'fn' | 'inFork'>): Promise<number> {
  const once = () => measure(() => do_not_optimize(fn()));
  const stats = inFork ? await runWithForkId('alice', once) : await once();
  return stats.p50;
}

const baseline: number[] = [];
const samples = new Map<string, number[]>(cases.map(({ name }) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  baseline.push(await measureCase({ fn: noop }));
  for (const benchCase of cases) samples.get(benchCase.name)?.push(await measureCase(benchCase));
}

printTable({
  title: `@kubefork/context micro-benchmarks (Node ${process.versions.node}, ${ROUNDS} interleaved rounds, median of p50)`,
  baseline: { name: 'empty function (baseline)', samples: baseline },
  rows: cases.map(({ name, target }) => ({ name, samples: samples.get(name) ?? [], target })),
});
