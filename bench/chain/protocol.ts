// What the orchestrator and its child processes (services and load generator) say over IPC.

/** The fork every benchmark request carries. */
export const FORK_ID = 'alice';
export const FORK_HEADER = 'x-fork-identifier';
/** The W3C baggage member for the fork, as the edge sends it and as OpenTelemetry carries it. */
export const FORK_BAGGAGE = `${FORK_HEADER}=${FORK_ID}`;

export type VariantName = 'bare' | 'minimum' | 'kubefork' | 'otel';

/** What each child process is told on its command line (one JSON argument). */
export interface ChildArgs {
  variant: VariantName;
  /** Downstream service to call (service A only). */
  downstream?: string;
}

/** Per-process counters a service keeps; B's are the proof that a variant propagates. */
export interface Counters {
  /** Requests handled. */
  requests: number;
  /** Requests that arrived with `x-fork-identifier: alice` (header or gRPC metadata). */
  header: number;
  /** Requests whose `baggage` carried `x-fork-identifier=alice`. */
  baggage: number;
  /** Requests whose handler saw the fork through the variant's own context API. */
  context: number;
}

/** A service's state at a window boundary. */
export interface Snapshot {
  counters: Counters;
  /** `process.cpuUsage()` user + system, µs (all threads: JS, GC, libuv). */
  cpuMicros: number;
  /** `heapUsed` after a full GC, bytes. */
  heapUsed: number;
  /** The part of `heapUsed` that is compiled code (code spaces), bytes. */
  codeUsed: number;
}

export type ToChild =
  | { type: 'snapshot'; phase: 'start' | 'end' }
  /** Load generator: start the measured window. */
  | { type: 'go' }
  | { type: 'stop' }
  | { type: 'exit' };

export type FromChild =
  | { type: 'ready'; port: number }
  | { type: 'snapshot'; snapshot: Snapshot }
  /** Load generator: no request in flight (after warm-up, then after the window). */
  | { type: 'quiet' }
  | { type: 'result'; result: LoadResult };

/** What the load generator measured over the window. */
export interface LoadResult {
  /** Completed 2xx responses in the window. */
  requests: number;
  /** Non-2xx responses and transport errors in the window (must be 0). */
  errors: number;
  /** The first error seen, for the report. */
  firstError?: string;
  windowMs: number;
  /** Latency percentiles over the window, ms. */
  p50: number;
  p99: number;
  /** The load generator's own CPU over the window, µs. */
  cpuMicros: number;
}

export function parseChildArgs(): ChildArgs {
  const raw = process.argv[2];
  if (raw === undefined) throw new TypeError('bench child: missing JSON argument');
  return JSON.parse(raw) as ChildArgs;
}

export function send(message: FromChild): void {
  process.send?.(message);
}
