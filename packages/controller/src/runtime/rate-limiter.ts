// How long a key waits before it is retried: the larger of a per-key exponential backoff and an
// overall token bucket, like client-go's DefaultControllerRateLimiter (5 ms → 1,000 s; 10 qps,
// burst 100): one broken host backs off alone, and a mass failure cannot turn into a retry storm.

export interface RateLimiterOptions {
  /** First per-key retry delay. Default 5 ms. */
  baseDelayMs?: number;
  /** Largest per-key retry delay. Default 1,000,000 ms (1,000 s). */
  maxDelayMs?: number;
  /** Overall retries per second. Default 10. */
  qps?: number;
  /** Retries allowed at once before `qps` applies. Default 100. */
  burst?: number;
  /** Clock in ms; tests pass their own. Default `performance.now`. */
  now?: () => number;
}

export class RateLimiter {
  readonly #failures = new Map<string, number>();
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #qps: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  constructor(options: RateLimiterOptions = {}) {
    const {
      baseDelayMs = 5,
      maxDelayMs = 1_000_000,
      qps = 10,
      burst = 100,
      now = () => performance.now(),
    } = options;
    this.#baseDelayMs = baseDelayMs;
    this.#maxDelayMs = maxDelayMs;
    this.#qps = qps;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#last = now();
  }

  /** Records one more failure of `key` and returns how long to wait before retrying it. */
  when(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    const exponential = Math.min(this.#baseDelayMs * 2 ** Math.min(failures, 60), this.#maxDelayMs);
    return Math.max(exponential, this.#reserveToken());
  }

  /** Consecutive failures recorded for `key`. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** `key` succeeded: its next failure starts again at the base delay. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Takes a token (possibly one not yet refilled) and returns the wait until it exists. */
  #reserveToken(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
    this.#last = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.#qps) * 1000;
  }
}
