// The load generator: a closed loop of `connections` concurrent requests over as many keep-alive
// connections (an undici Pool), warm-up, then a measured window. The orchestrator snapshots the
// services at the window's edges; this process measures throughput and latency.

import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import {
  FORK_BAGGAGE,
  FORK_HEADER,
  FORK_ID,
  type LoadResult,
  send,
  type ToChild,
} from './protocol.js';

export interface LoadArgs {
  url: string;
  connections: number;
  warmupMs: number;
  windowMs: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as LoadArgs;
const target = new URL(args.url);
// Every variant gets the same request: the fork as the header and as a baggage member, the way
// an edge that speaks both would send it. Each variant reads the carrier it understands.
const headers = { [FORK_HEADER]: FORK_ID, baggage: FORK_BAGGAGE, accept: 'application/json' };
const pool = new Pool(target.origin, {
  connections: args.connections,
  pipelining: 1,
  keepAliveTimeout: 60_000,
});

let phase: 'warmup' | 'window' | 'after' = 'warmup';
let stopping = false;
let latencies = new Float64Array(1 << 16);
let count = 0;
let errors = 0;
let firstError: string | undefined;

function recordLatency(ms: number): void {
  if (count === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[count++] = ms;
}

function recordError(message: string): void {
  if (phase === 'after') return;
  errors++;
  firstError ??= message;
}

async function worker(): Promise<void> {
  while (!stopping) {
    const start = performance.now();
    try {
      const { statusCode, body } = await pool.request({
        path: target.pathname,
        method: 'GET',
        headers,
      });
      await body.dump();
      if (statusCode !== 200) recordError(`HTTP ${statusCode}`);
      else if (phase === 'window') recordLatency(performance.now() - start);
    } catch (error) {
      recordError(String(error));
    }
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

let windowStart = 0;
let windowEnd = 0;
let cpuStart = process.cpuUsage();
let cpuWindow = 0;

const workers = Array.from({ length: args.connections }, () => worker());

setTimeout(() => {
  phase = 'window';
  cpuStart = process.cpuUsage();
  windowStart = performance.now();
  send({ type: 'window-start' });
  setTimeout(() => {
    windowEnd = performance.now();
    const cpu = process.cpuUsage(cpuStart);
    cpuWindow = cpu.user + cpu.system;
    phase = 'after';
    send({ type: 'window-end' });
  }, args.windowMs);
}, args.warmupMs);

process.on('message', async (message: ToChild) => {
  if (message.type === 'stop') {
    stopping = true;
    await Promise.all(workers);
    await pool.close();
    const sorted = latencies.subarray(0, count).sort();
    const result: LoadResult = {
      requests: count,
      errors,
      windowMs: windowEnd - windowStart,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      cpuMicros: cpuWindow,
    };
    if (firstError !== undefined) result.firstError = firstError;
    send({ type: 'result', result });
  } else if (message.type === 'exit') {
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
