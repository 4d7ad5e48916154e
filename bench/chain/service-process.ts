// The part every benchmarked service shares: its counters and how it answers the orchestrator.

import { getHeapSpaceStatistics } from 'node:v8';
import {
  type Counters,
  FORK_BAGGAGE,
  FORK_ID,
  type Snapshot,
  send,
  type ToChild,
} from './protocol.js';

const gc = (globalThis as { gc?: () => void }).gc;

export function createCounters(): Counters {
  return { requests: 0, header: 0, baggage: 0, context: 0 };
}

/**
 * Counts one request: which carriers brought the fork in, and whether the handler saw it
 * through the variant's context API. Costs the same in every variant.
 */
export function record(
  counters: Counters,
  header: unknown,
  baggage: unknown,
  contextFork: string | undefined,
): void {
  counters.requests++;
  if (header === FORK_ID) counters.header++;
  if (typeof baggage === 'string' && baggage.includes(FORK_BAGGAGE)) counters.baggage++;
  if (contextFork === FORK_ID) counters.context++;
}

function snapshot(counters: Counters, phase: 'start' | 'end'): Snapshot {
  // Start: collect garbage first so the window's CPU does not pay for warm-up garbage. End: read
  // CPU first, then collect to see what the window left behind.
  if (phase === 'start') gc?.();
  const cpu = process.cpuUsage();
  const copy = { ...counters };
  if (phase === 'end') gc?.();
  return {
    counters: copy,
    cpuMicros: cpu.user + cpu.system,
    heapUsed: process.memoryUsage().heapUsed,
    codeUsed: getHeapSpaceStatistics()
      .filter((space) => space.space_name.startsWith('code_'))
      .reduce((sum, space) => sum + space.space_used_size, 0),
  };
}

/** Tells the orchestrator the service listens on `port`, then answers its snapshot requests. */
export function serveOrchestrator(counters: Counters, port: number, close: () => void): void {
  process.on('message', (message: ToChild) => {
    if (message.type === 'snapshot') {
      send({ type: 'snapshot', snapshot: snapshot(counters, message.phase) });
    } else if (message.type === 'exit') {
      close();
      // process.exit (not a signal) so that --cpu-prof writes its profile.
      process.exit(0);
    }
  });
  // An orchestrator that died must not leave servers behind.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', port });
}
