// What a Fork's status says, read the same way by `ls`, `status`, `fork --wait` and `extend`.
import type { Fork } from '@kubefork/controller/plan';
import { parseDuration } from '@kubefork/controller/plan';
import { humanDuration } from './output.js';

/** The header requests carry (the controller's default header; VSConfigs may use another). */
export const FORK_HEADER = 'x-fork-identifier';

export function forkIdOf(fork: Fork): string {
  return fork.status?.forkId ?? fork.spec.forkId ?? fork.metadata.name ?? '';
}

export function readyCondition(fork: Fork) {
  return fork.status?.conditions?.find((condition) => condition.type === 'Ready');
}

/** Whether the controller has written a status for the Fork's current spec. */
export function observed(fork: Fork): boolean {
  const generation = fork.metadata.generation;
  return (
    fork.status?.observedGeneration !== undefined &&
    (generation === undefined || fork.status.observedGeneration >= generation)
  );
}

/** `True`, `False` or `Unknown` (no status for this spec yet). */
export function readyState(fork: Fork): string {
  if (!observed(fork)) return 'Unknown';
  return readyCondition(fork)?.status ?? 'Unknown';
}

/** `in 7h59m`, `expired`, or `-` when the controller has not set a deadline. */
export function expiresIn(fork: Fork, nowMs = Date.now()): string {
  const at = Date.parse(fork.status?.expiresAt ?? '');
  if (Number.isNaN(at)) return '-';
  return at <= nowMs ? 'expired' : `in ${humanDuration(at - nowMs)}`;
}

/**
 * When the controller's cap cut the TTL: the TTL asked for and the one in force (both in ms), or
 * undefined. The controller reports the cap only through `status.expiresAt` (it is
 * `status.clock.startedAt` + min(spec.ttl, --max-fork-ttl)).
 */
export function ttlCap(fork: Fork): { asked: number; granted: number } | undefined {
  const clock = fork.status?.clock;
  const expires = Date.parse(fork.status?.expiresAt ?? '');
  const started = Date.parse(clock?.startedAt ?? '');
  const asked = parseDuration(clock?.ttl ?? fork.spec.ttl ?? '8h');
  if (asked === undefined || Number.isNaN(expires) || Number.isNaN(started)) return undefined;
  const granted = expires - started;
  return granted < asked ? { asked, granted } : undefined;
}

export function ttlCapMessage(fork: Fork, cap: { asked: number; granted: number }): string {
  return `the cluster caps a Fork's TTL at ${humanDuration(cap.granted)} (kubefork-controller --max-fork-ttl): ${forkIdOf(fork)} expires at ${fork.status?.expiresAt}, not after the ${humanDuration(cap.asked)} asked for`;
}
