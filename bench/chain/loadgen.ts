// The load generator: a closed loop of `connections` concurrent requests over as many keep-alive
// connections (an undici Pool). Warm-up, drain, window, drain: the orchestrator snapshots the
// services while nothing is in flight, so CPU ÷ requests counts every request of the window
// exactly once and the heap is compared without in-flight requests in it.

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
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

// Pausing: workers wait at the gate; the last request to finish reports the drain.
let paused = false;
let gate: Promise<void> = Promise.resolve();
let openGate = () => {};
let inFlight = 0;
let onDrained: (() => void) | undefined;

function pauseAndDrain(): Promise<void> {
  paused = true;
  gate = new Promise((resolve) => {
    openGate = resolve;
  });
  if (inFlight === 0) return Promise.resolve();
  return new Promise((resolve) => {
    onDrained = resolve;
  });
}

function resume(): void {
  paused = false;
  openGate();
}

function recordLatency(ms: number): void {
  if (count === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[count++] = ms;
}

function recordError(message: string): void {
  errors++;
  firstError ??= message;
}

async function worker(): Promise<void> {
  while (!stopping) {
    if (paused) {
      await gate;
      continue;
    }
    inFlight++;
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
    } finally {
      if (--inFlight === 0 && paused) onDrained?.();
    }
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

function nextMessage(type: ToChild['type']): Promise<void> {
  return new Promise((resolve) => {
    const listener = (message: ToChild) => {
      if (message.type !== type) return;
      process.off('message', listener);
      resolve();
    };
    process.on('message', listener);
  });
}

process.on('message', (message: ToChild) => {
  if (message.type === 'exit') process.exit(0);
});
process.on('disconnect', () => process.exit(0));

const workers = Array.from({ length: args.connections }, () => worker());

await sleep(args.warmupMs);
await pauseAndDrain();
const go = nextMessage('go');
send({ type: 'quiet' });
await go;

phase = 'window';
const cpuStart = process.cpuUsage();
const windowStart = performance.now();
resume();
await sleep(args.windowMs);
const windowEnd = performance.now();
const cpu = process.cpuUsage(cpuStart);
phase = 'after';
await pauseAndDrain();
const stop = nextMessage('stop');
send({ type: 'quiet' });
await stop;

stopping = true;
resume();
await Promise.all(workers);
await pool.close();
const sorted = latencies.subarray(0, count).sort();
const result: LoadResult = {
  requests: count,
  errors,
  windowMs: windowEnd - windowStart,
  p50: percentile(sorted, 0.5),
  p99: percentile(sorted, 0.99),
  cpuMicros: cpu.user + cpu.system,
};
if (firstError !== undefined) result.firstError = firstError;
send({ type: 'result', result });
