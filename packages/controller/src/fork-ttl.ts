// A Fork's TTL: when its clock started and when it runs out. The clock starts at creation and
// starts again whenever `spec.ttl` or the annotation `kubefork.dev/extend-at` changes; the status
// remembers what it last started from (`status.clock`), so a restart of the controller changes
// nothing.
import { DEFAULT_FORK_TTL, EXTEND_AT_ANNOTATION } from './constants.js';
import type { Fork, ForkClock } from './fork-types.js';

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
const DURATION = /^([0-9]{1,5}(d|h|m|s))+$/;

/**
 * Milliseconds of a duration such as `8h`, `90m`, `1h30m` or `2d` (the CRD's pattern), or
 * `undefined` when `text` is not one or is zero.
 */
export function parseDuration(text: unknown): number | undefined {
  if (typeof text !== 'string' || !DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/([0-9]+)(d|h|m|s)/g)) {
    total += Number(amount) * UNIT_MS[unit!]!;
  }
  return total > 0 ? total : undefined;
}

/** RFC 3339 in whole seconds, as Kubernetes writes times. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

export interface ForkDeadline {
  clock: ForkClock;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** The TTL in force (the Fork's, cut to `maxTtlMs`). */
  ttlMs: number;
}

/**
 * When `fork` expires at `nowMs`, given the controller's cap. The Fork's own `spec.ttl` (default
 * 8h) counts from `status.clock.startedAt` while `spec.ttl` and the extend-at annotation are what
 * the clock last started from; from now when either changed; from creation for a new Fork.
 */
export function forkDeadline(fork: Fork, maxTtlMs: number, nowMs: number): ForkDeadline {
  const ttl = typeof fork.spec?.ttl === 'string' ? fork.spec.ttl : DEFAULT_FORK_TTL;
  const ttlMs = Math.min(parseDuration(ttl) ?? parseDuration(DEFAULT_FORK_TTL)!, maxTtlMs);
  const extendAt = fork.metadata.annotations?.[EXTEND_AT_ANNOTATION];
  const previous = fork.status?.clock;
  const previousStart = previous ? Date.parse(previous.startedAt) : Number.NaN;
  let startedAt: number;
  if (previous && !Number.isNaN(previousStart)) {
    const same = previous.ttl === ttl && (previous.extendAt ?? undefined) === extendAt;
    startedAt = same ? previousStart : nowMs;
  } else {
    const created = Date.parse(String(fork.metadata.creationTimestamp ?? ''));
    // An annotation already on a new Fork does not extend it: the clock starts at creation.
    startedAt = Number.isNaN(created) ? nowMs : Math.min(created, nowMs);
  }
  const clock: ForkClock = { startedAt: formatTime(startedAt), ttl };
  if (extendAt !== undefined) clock.extendAt = extendAt;
  // Whole seconds: the status stores seconds, and the deadline must not move when read back.
  const start = Date.parse(clock.startedAt);
  return { clock, expiresAt: start + ttlMs, ttlMs };
}
