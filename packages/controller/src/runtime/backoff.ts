// Delays for retrying something that keeps failing: exponential, capped, with jitter so that
// many informers (or many controllers) restarting after the same outage do not retry in lockstep.

export interface BackoffOptions {
  /** First delay. Default 1,000 ms. */
  initialMs?: number;
  /** Largest delay. Default 30,000 ms. */
  maxMs?: number;
  /** Random part, as a fraction of the delay: `delay * (1 + jitter * random)`. Default 0.5. */
  jitter?: number;
}

/** The delay before attempt `failures + 1` after `failures` consecutive failures (`failures ≥ 1`). */
export function backoffDelay(failures: number, options: BackoffOptions = {}): number {
  const { initialMs = 1000, maxMs = 30_000, jitter = 0.5 } = options;
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const base = Math.min(initialMs * 2 ** exponent, maxMs);
  return Math.min(base * (1 + jitter * Math.random()), maxMs * (1 + jitter));
}

/**
 * Resolves after `ms`, or as soon as `signal` aborts (never rejects): callers check the signal.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
