// What a service does with onInvalid: count every ignored value by reason and keep the latest
// few for inspection. Never per-request logging: a client can send bad values at any rate.

import type { InvalidReason } from '@kubefork/context';

export interface InvalidEntry {
  readonly reason: InvalidReason;
  /** The ignored value (the core hands over at most 256 characters). */
  readonly value: string;
}

export interface InvalidSummary {
  /** Every value ignored since the process started. */
  readonly count: number;
  readonly byReason: Readonly<Partial<Record<InvalidReason, number>>>;
  /** The latest entries, oldest first. */
  readonly recent: readonly InvalidEntry[];
}

const KEEP = 64;

export class InvalidLog {
  #count = 0;
  readonly #byReason: Partial<Record<InvalidReason, number>> = {};
  readonly #recent: InvalidEntry[] = [];

  /** Bound so that it can be passed to `configure({ onInvalid })` as is. */
  readonly record = (value: string, reason: InvalidReason): void => {
    this.#count += 1;
    this.#byReason[reason] = (this.#byReason[reason] ?? 0) + 1;
    if (this.#recent.length === KEEP) this.#recent.shift();
    this.#recent.push({ reason, value });
  };

  summary(): InvalidSummary {
    return { count: this.#count, byReason: { ...this.#byReason }, recent: [...this.#recent] };
  }
}

/** The reasons reported between two summaries of one log, oldest first (at most the last 64). */
export function reasonsSince(before: InvalidSummary, after: InvalidSummary): InvalidReason[] {
  const added = after.count - before.count;
  return added <= 0 ? [] : after.recent.slice(-added).map((entry) => entry.reason);
}
