// The harness's own judgement: a run of a broken variant is reported as invalid, never as a
// figure. Pure functions over hand-made runs; the smoke test covers real processes.

import { describe, expect, it } from 'vitest';
import { HTTP_EXPECTATIONS } from '../chain/expectations.js';
import { chainOptions } from '../chain/options.js';
import { type ChainSpec, findProblems, type RunResult } from '../chain/orchestrate.js';
import type { Counters, VariantName } from '../chain/protocol.js';
import { reportChain, roundRatios } from '../chain/report.js';

function counters(requests: number, seen: Partial<Omit<Counters, 'requests'>> = {}): Counters {
  return { requests, header: 0, baggage: 0, context: 0, ...seen };
}

function run(
  variant: VariantName,
  round: number,
  b: Counters,
  { rps = 1000, cpu = 100, a = counters(b.requests, { context: b.context }) } = {},
): RunResult {
  const result = {
    chain: 'http',
    variant,
    round,
    requestsPerSecond: rps,
    load: { requests: rps, errors: 0, windowMs: 1000, p50: 1, p99: 2, cpuMicros: 10_000 },
    loadUtilization: 0.1,
    a: { requests: a.requests, cpuPerRequest: cpu, heapDelta: 0, totals: a },
    b: { requests: b.requests, cpuPerRequest: cpu / 2, heapDelta: 0, totals: b },
  };
  return { ...result, problems: findProblems(HTTP_EXPECTATIONS[variant], result) };
}

const all = (requests: number) => counters(requests, { header: requests, context: requests });

describe('findProblems', () => {
  it('accepts a minimum run whose B saw the header and the fork on every request', () => {
    expect(run('minimum', 1, all(100)).problems).toEqual([]);
  });

  it('rejects a minimum run whose B missed the header on some requests', () => {
    const b = counters(100, { header: 99, context: 100 });
    expect(run('minimum', 1, b).problems).toEqual([
      'B: fork header on 99 of 100 requests, expected all',
    ]);
  });

  it('rejects a bare run whose B received a fork', () => {
    expect(run('bare', 1, counters(100, { header: 1 })).problems).toEqual([
      'B: fork header on 1 of 100 requests, expected none',
    ]);
  });

  it('rejects an otel run whose handlers did not see the fork in their context', () => {
    const b = counters(100, { baggage: 100, context: 100 });
    const problems = run('otel', 1, b, { a: counters(100) }).problems;
    expect(problems).toEqual(['A: fork context on 0 of 100 requests, expected all']);
  });

  it('rejects a run with failed requests', () => {
    const base = run('bare', 1, counters(10));
    const failing = { ...base, load: { ...base.load, errors: 3, firstError: 'HTTP 500' } };
    expect(findProblems(HTTP_EXPECTATIONS.bare, failing)).toContain(
      '3 failed requests (first: HTTP 500)',
    );
  });
});

describe('reportChain', () => {
  const spec: ChainSpec = {
    id: 'http',
    title: 'test chain',
    a: 'a.ts',
    b: 'b.ts',
    protocol: 'http',
    variants: ['bare', 'minimum'],
    expect: HTTP_EXPECTATIONS,
  };
  const options = chainOptions({ BENCH_ROUNDS: '2' });

  it('computes ratios within each round, not across rounds', () => {
    const runs = [
      run('bare', 1, counters(10), { rps: 1000 }),
      run('minimum', 1, all(10), { rps: 900 }),
      run('bare', 2, counters(10), { rps: 500 }),
      run('minimum', 2, all(10), { rps: 500 }),
    ];
    expect(roundRatios(runs, 'minimum', 'bare', (r) => r.requestsPerSecond)).toEqual([0.9, 1]);
  });

  it('marks the variant invalid and lists the failure when a run did not propagate', () => {
    const runs = [run('bare', 1, counters(10)), run('minimum', 1, counters(10))];
    const report = reportChain(spec, options, runs);
    expect(report.failures).toEqual([
      'http minimum round 1: B: fork header on 0 of 10 requests, expected all',
      'http minimum round 1: B: fork context on 0 of 10 requests, expected all',
      'http minimum round 1: A: fork context on 0 of 10 requests, expected all',
    ]);
    expect(report.markdown).toMatch(/\| minimum \|.*\| NO \|/);
    expect(report.markdown).toMatch(/\| bare \|.*\| none \| yes \|/);
  });
});

describe('chainOptions', () => {
  it('rejects a non-numeric setting, naming the variable', () => {
    expect(() => chainOptions({ BENCH_ROUNDS: 'five' })).toThrow(/BENCH_ROUNDS/);
  });

  it('shortens everything in quick mode', () => {
    const quick = chainOptions({ BENCH_QUICK: '1' });
    const full = chainOptions({});
    expect(quick.rounds).toBeLessThan(full.rounds);
    expect(quick.windowMs).toBeLessThan(full.windowMs);
  });
});
