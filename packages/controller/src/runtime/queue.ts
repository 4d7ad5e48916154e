// The controller's work queue, after client-go's workqueue: a key is queued at most once however
// often it is added (events are coalesced), a key is handed to one worker at a time (adding it
// while it is being processed queues it again for after `done`), and failed keys come back after
// the rate limiter's delay.
import { RateLimiter, type RateLimiterOptions } from './rate-limiter.js';

export class WorkQueue {
  readonly #ready: string[] = [];
  #head = 0;
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #waiters: ((key: string | undefined) => void)[] = [];
  readonly #limiter: RateLimiter;
  #shuttingDown = false;

  constructor(options: RateLimiterOptions = {}) {
    this.#limiter = new RateLimiter(options);
  }

  /** Keys waiting for a worker (not counting delayed retries or keys being processed). */
  get depth(): number {
    return this.#ready.length - this.#head;
  }

  /** Keys waiting for a retry delay to pass. */
  get delayed(): number {
    return this.#delayed.size;
  }

  /** Nothing waiting and nothing being processed (delayed retries may still be pending). */
  get idle(): boolean {
    return this.depth === 0 && this.#processing.size === 0;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#push(key);
  }

  /** Adds `key` after `delayMs`; of two pending delays for one key the earlier one wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = performance.now() + delayMs;
    const pending = this.#delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.#delayed.set(key, { at, timer });
  }

  /** Adds `key` after its backoff: the key's failures so far and the overall rate limit. */
  addRateLimited(key: string): number {
    const delay = this.#limiter.when(key);
    this.addAfter(key, delay);
    return delay;
  }

  /** Consecutive `addRateLimited` calls for `key` since it was last forgotten. */
  failures(key: string): number {
    return this.#limiter.failures(key);
  }

  /** `key` succeeded: reset its backoff. */
  forget(key: string): void {
    this.#limiter.forget(key);
  }

  /** The next key to process, or `undefined` once the queue is shut down. Call `done` after. */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    if (this.depth > 0) return Promise.resolve(this.#take());
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Marks `key` processed; if it was added meanwhile it is queued again. */
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.#shuttingDown) this.#push(key);
  }

  /** Stops handing out keys: `get` resolves `undefined` from now on; queued and delayed keys are dropped. */
  shutDown(): void {
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    for (const resolve of this.#waiters.splice(0)) resolve(undefined);
  }

  #push(key: string): void {
    this.#ready.push(key);
    const waiter = this.#waiters.shift();
    if (waiter) waiter(this.#take());
  }

  #take(): string {
    const key = this.#ready[this.#head]!;
    this.#head += 1;
    if (this.#head > 1024 && this.#head * 2 > this.#ready.length) {
      this.#ready.splice(0, this.#head);
      this.#head = 0;
    }
    this.#dirty.delete(key);
    this.#processing.add(key);
    return key;
  }
}
