// Runs one benchmark chain: for each round, each variant in order, fresh processes for B, A and
// the load generator; snapshots both services at the edges of the measured window.

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child } from './child.js';
import type { ChainOptions } from './options.js';
import type { Counters, LoadResult, Snapshot, VariantName } from './protocol.js';

const here = dirname(fileURLToPath(import.meta.url));
export const PROFILE_DIR = join(here, '..', '.profiles');

/** Which carriers must bring the fork to B (and to the handlers' context) for a variant. */
export interface Expectation {
  header: 'all' | 'none';
  baggage: 'all' | 'none';
  /** Whether the handlers of A and B see the fork through the variant's API. */
  context: 'all' | 'none';
}

export interface ChainSpec {
  /** Short name: file name of the JSON output, filter for tests. */
  id: string;
  title: string;
  /** Service modules, relative to bench/chain/. */
  a: string;
  b: string;
  /** How A reaches B. */
  protocol: 'http' | 'grpc';
  variants: readonly VariantName[];
  expect: Partial<Record<VariantName, Expectation>>;
}

export interface ServiceWindow {
  /** Requests handled in the window. */
  requests: number;
  /** CPU over the window ÷ requests in the window, µs. */
  cpuPerRequest: number;
  /**
   * Heap used after GC, code excluded, at the window's end minus at its start, bytes. Code
   * space grows while the JIT compiles more of the service (100–200 KB); that is not retention.
   */
  heapDelta: number;
  /** Counters since the process started, up to the window's end (warm-up included). */
  totals: Counters;
}

export interface RunResult {
  chain: string;
  variant: VariantName;
  round: number;
  requestsPerSecond: number;
  load: LoadResult;
  /** Load generator CPU ÷ window wall time: 1 means one core saturated. */
  loadUtilization: number;
  a: ServiceWindow;
  b: ServiceWindow;
  /** What went wrong with propagation or the requests; empty when the run is valid. */
  problems: string[];
}

function serviceWindow(start: Snapshot, end: Snapshot): ServiceWindow {
  const requests = end.counters.requests - start.counters.requests;
  return {
    requests,
    cpuPerRequest: requests > 0 ? (end.cpuMicros - start.cpuMicros) / requests : Number.NaN,
    heapDelta: end.heapUsed - end.codeUsed - (start.heapUsed - start.codeUsed),
    totals: end.counters,
  };
}

function check(
  where: string,
  what: 'header' | 'baggage' | 'context',
  rule: 'all' | 'none',
  counters: Counters,
): string | undefined {
  const seen = counters[what];
  if (rule === 'all' && seen !== counters.requests) {
    return `${where}: fork ${what} on ${seen} of ${counters.requests} requests, expected all`;
  }
  if (rule === 'none' && seen !== 0) {
    return `${where}: fork ${what} on ${seen} of ${counters.requests} requests, expected none`;
  }
  return undefined;
}

/** Every way a run could be measuring something broken; empty when it is valid. */
export function findProblems(
  expect: Expectation | undefined,
  run: Omit<RunResult, 'problems'>,
): string[] {
  const problems: string[] = [];
  if (run.load.errors > 0) {
    problems.push(`${run.load.errors} failed requests (first: ${run.load.firstError ?? '?'})`);
  }
  if (run.load.requests === 0) problems.push('no request completed in the window');
  if (run.a.totals.requests === 0 || run.b.totals.requests === 0) {
    problems.push('a service handled no request');
  }
  if (expect === undefined) return [...problems, `no expectation for ${run.variant}`];
  for (const problem of [
    check('B', 'header', expect.header, run.b.totals),
    check('B', 'baggage', expect.baggage, run.b.totals),
    check('B', 'context', expect.context, run.b.totals),
    check('A', 'context', expect.context, run.a.totals),
  ]) {
    if (problem !== undefined) problems.push(problem);
  }
  return problems;
}

function execArgv(options: ChainOptions, role: 'a' | 'b' | 'load', label: string): string[] {
  const argv = ['--import', 'tsx', '--expose-gc'];
  if (options.profile === role) {
    // One directory per process: each thread (tsx runs its loader in one) writes a profile,
    // named by Node with pid and thread id; the main thread's is the largest.
    const dir = join(PROFILE_DIR, label);
    mkdirSync(dir, { recursive: true });
    argv.push('--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100');
  }
  return argv;
}

/** Runs one variant once: B, then A, then the load generator, each a fresh process. */
export async function runOnce(
  spec: ChainSpec,
  variant: VariantName,
  round: number,
  options: ChainOptions,
): Promise<RunResult> {
  const label = `${spec.id}-${variant}-r${round}`;
  const children: Child[] = [];
  try {
    const b = new Child(
      `${label} B`,
      join(here, spec.b),
      { variant },
      execArgv(options, 'b', `${label}-b`),
    );
    children.push(b);
    const bPort = (await b.next('ready')).port;
    const downstream =
      spec.protocol === 'grpc' ? `127.0.0.1:${bPort}` : `http://127.0.0.1:${bPort}/`;
    const a = new Child(
      `${label} A`,
      join(here, spec.a),
      { variant, downstream },
      execArgv(options, 'a', `${label}-a`),
    );
    children.push(a);
    const aPort = (await a.next('ready')).port;
    const load = new Child(
      `${label} load`,
      join(here, 'loadgen.ts'),
      {
        url: `http://127.0.0.1:${aPort}/`,
        connections: options.connections,
        warmupMs: options.warmupMs,
        windowMs: options.windowMs,
      },
      execArgv(options, 'load', `${label}-load`),
    );
    children.push(load);

    // Both snapshots are taken with nothing in flight (see loadgen.ts).
    await load.next('quiet', options.warmupMs + 60_000);
    const [aStart, bStart] = await Promise.all([a.snapshot('start'), b.snapshot('start')]);
    load.send({ type: 'go' });
    await load.next('quiet', options.windowMs + 60_000);
    const [aEnd, bEnd] = await Promise.all([a.snapshot('end'), b.snapshot('end')]);
    load.send({ type: 'stop' });
    const { result } = await load.next('result');

    const run = {
      chain: spec.id,
      variant,
      round,
      requestsPerSecond: result.requests / (result.windowMs / 1000),
      load: result,
      loadUtilization: result.cpuMicros / 1000 / result.windowMs,
      a: serviceWindow(aStart, aEnd),
      b: serviceWindow(bStart, bEnd),
    };
    return { ...run, problems: findProblems(spec.expect[variant], run) };
  } finally {
    await Promise.all(children.reverse().map((child) => child.exit()));
  }
}

/** The chain's variants, or those of them that BENCH_VARIANTS names. */
export function variantsToRun(spec: ChainSpec, options: ChainOptions): VariantName[] {
  const only = options.variants;
  if (only === undefined) return [...spec.variants];
  const unknown = only.filter((name) => !spec.variants.includes(name as VariantName));
  if (unknown.length) {
    throw new TypeError(
      `BENCH_VARIANTS: ${unknown.join(', ')} not among ${spec.variants.join(', ')} of ${spec.id}`,
    );
  }
  return spec.variants.filter((variant) => only.includes(variant));
}

/** All rounds, variants interleaved: bare, minimum, kubefork, otel, bare, … */
export async function runChain(spec: ChainSpec, options: ChainOptions): Promise<RunResult[]> {
  const runs: RunResult[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const variant of variantsToRun(spec, options)) {
      runs.push(await runOnce(spec, variant, round, options));
    }
  }
  return runs;
}

/**
 * The load generator against a node:http server that answers at once: the most it can drive on
 * this machine. A chain whose rate is well below this is not limited by the load generator.
 */
export async function measureLoadCeiling(options: ChainOptions): Promise<LoadResult> {
  const children: Child[] = [];
  try {
    const server = new Child(
      'ceiling server',
      join(here, 'echo-server.ts'),
      {},
      execArgv(options, 'b', 'ceiling'),
    );
    children.push(server);
    const port = (await server.next('ready')).port;
    const load = new Child(
      'ceiling load',
      join(here, 'loadgen.ts'),
      {
        url: `http://127.0.0.1:${port}/`,
        connections: options.connections,
        warmupMs: options.warmupMs,
        windowMs: options.windowMs,
      },
      execArgv(options, 'load', 'ceiling-load'),
    );
    children.push(load);
    await load.next('quiet', options.warmupMs + 60_000);
    load.send({ type: 'go' });
    await load.next('quiet', options.windowMs + 60_000);
    load.send({ type: 'stop' });
    return (await load.next('result')).result;
  } finally {
    await Promise.all(children.reverse().map((child) => child.exit()));
  }
}
