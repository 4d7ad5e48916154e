/**
 * True when `value` is a promise-like. A user callback that should answer synchronously (a
 * `trust` policy, `propagateTo`, `onInvalid`) but is declared `async` returns one: its answer
 * cannot be used, and its rejection must not become an unhandled rejection, which ends the
 * process on Node ≥ 15.
 */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Marks a promise returned by a user callback as handled: its outcome is ignored. */
export function ignoreOutcome(value: PromiseLike<unknown>): void {
  try {
    value.then(undefined, () => {});
  } catch {
    // A hostile thenable whose `then` throws: nothing to handle.
  }
}
