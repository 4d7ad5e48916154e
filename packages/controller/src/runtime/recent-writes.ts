// What this controller wrote in the last seconds, newer than the informer caches may be yet.
// Reconciles read from the caches; without this, a reconcile started by one event could see its
// own previous write missing (its watch event not in yet) and send the same write again, like
// client-go's MutationCache. Entries expire, and a cache that caught up always wins.

interface Versioned {
  metadata?: { resourceVersion?: string; uid?: string };
}

export class RecentWrites<T extends Versioned> {
  readonly #written = new Map<string, { object: T; at: number }>();
  readonly #deleted = new Map<string, { uid: string | undefined; at: number }>();
  readonly #ttlMs: number;
  #writes = 0;

  constructor(ttlMs = 30_000) {
    this.#ttlMs = ttlMs;
  }

  wrote(key: string, object: T): void {
    this.#deleted.delete(key);
    this.#written.set(key, { object, at: performance.now() });
    this.#writes += 1;
    if (this.#writes % 256 === 0) this.#sweep();
  }

  deleted(key: string, uid: string | undefined): void {
    this.#written.delete(key);
    this.#deleted.set(key, { uid, at: performance.now() });
  }

  /** The informer cached `object`: our copy is not needed once the cache is as new. */
  observed(key: string, object: T): void {
    const written = this.#written.get(key);
    if (written && isAtLeast(object, written.object)) this.#written.delete(key);
  }

  /** The informer saw the object go away: nothing of ours can be newer. */
  observedDeletion(key: string): void {
    this.#written.delete(key);
    this.#deleted.delete(key);
  }

  /** The newer of the cached object and our last write of it. */
  resolve(key: string, cached: T | undefined): T | undefined {
    const now = performance.now();
    const deleted = this.#deleted.get(key);
    if (deleted) {
      if (now - deleted.at > this.#ttlMs) this.#deleted.delete(key);
      else if (cached === undefined) this.#deleted.delete(key);
      else if (cached.metadata?.uid === deleted.uid) return undefined;
    }
    const written = this.#written.get(key);
    if (!written) return cached;
    if (now - written.at > this.#ttlMs || isAtLeast(cached, written.object)) {
      this.#written.delete(key);
      return cached;
    }
    return written.object;
  }

  /** Drops expired entries of keys nobody asked about again. */
  #sweep(): void {
    const oldest = performance.now() - this.#ttlMs;
    for (const [key, entry] of this.#written) if (entry.at < oldest) this.#written.delete(key);
    for (const [key, entry] of this.#deleted) if (entry.at < oldest) this.#deleted.delete(key);
  }

  clear(): void {
    this.#written.clear();
    this.#deleted.clear();
  }
}

/**
 * Whether `cached` is as new as `written`. resourceVersions are opaque by contract, but every
 * Kubernetes API server backed by etcd issues integers that grow; if either is not an integer,
 * trust the cache.
 */
function isAtLeast(cached: Versioned | undefined, written: Versioned): boolean {
  if (cached === undefined) return false;
  const a = Number(cached.metadata?.resourceVersion);
  const b = Number(written.metadata?.resourceVersion);
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b)) return true;
  return a >= b;
}
