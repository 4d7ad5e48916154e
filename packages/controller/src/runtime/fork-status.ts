// Fork status as the controller writes it: observedGeneration, the fork id in force, the TTL
// deadline and its clock, the preview URL, one entry per service (what was made, or why not),
// and a Ready condition whose reason comes from the plan.
import { isDeepStrictEqual } from 'node:util';
import type { ForkDeadline } from '../fork-ttl.js';
import { formatTime } from '../fork-ttl.js';
import type { Fork, ForkPlan, ForkServiceStatus, ForkStatus } from '../fork-types.js';
import type { Condition } from '../types.js';
import { READY_CONDITION } from './status.js';

export interface ForkStatusInput {
  fork: Fork;
  plan: ForkPlan;
  deadline: ForkDeadline;
  /** readyReplicas of each live copy, by Deployment name. */
  readyReplicas: (deployment: string) => number;
  /** Whether the preview VirtualService is the Fork's (not another Fork's of the same id). */
  previewInPlace: boolean;
  /** RFC 3339 time for a new `lastTransitionTime`. */
  now: string;
}

/** The status `fork` should have; other condition types already present are kept. */
export function desiredForkStatus(input: ForkStatusInput): ForkStatus {
  const { fork, plan, deadline, readyReplicas, previewInPlace, now } = input;
  const generation = fork.metadata.generation;
  const services: ForkServiceStatus[] = plan.services.map((entry) => {
    if (!entry.ok) return { name: entry.name, reason: entry.reason, message: entry.message };
    const deployment = entry.deployment?.metadata.name ?? '';
    return {
      name: entry.name,
      deployment,
      service: entry.service?.metadata.name ?? '',
      vsConfig: entry.vsConfig?.metadata.name ?? '',
      readyReplicas: readyReplicas(deployment),
    };
  });
  let ready = plan.ready;
  let reason: string = plan.reason;
  let message = plan.message;
  if (plan.preview && !previewInPlace) {
    message =
      `VirtualService ${plan.preview.metadata.namespace}/${plan.preview.metadata.name} belongs to another Fork of the same fork id (in another namespace) or to someone else, so this Fork has no preview URL; pick another spec.forkId. ${ready ? '' : message}`.trim();
    if (ready) reason = 'PreviewInUse';
    ready = false;
  }
  const previous = fork.status?.conditions?.find((c) => c.type === READY_CONDITION);
  const status: Condition['status'] = ready ? 'True' : 'False';
  const condition: Condition = {
    type: READY_CONDITION,
    status,
    reason,
    message,
    lastTransitionTime: previous?.status === status ? previous.lastTransitionTime : now,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
  };
  const others = (fork.status?.conditions ?? []).filter((c) => c.type !== READY_CONDITION);
  const result: ForkStatus = {
    forkId: plan.forkId,
    expiresAt: formatTime(deadline.expiresAt),
    clock: deadline.clock,
    services,
    conditions: [condition, ...others],
  };
  if (generation !== undefined) result.observedGeneration = generation;
  if (plan.previewURL !== undefined && previewInPlace) result.previewURL = plan.previewURL;
  return result;
}

const FIELDS = [
  'observedGeneration',
  'forkId',
  'expiresAt',
  'previewURL',
  'clock',
  'services',
  'conditions',
] as const;

/** Whether writing `desired` would change anything. */
export function forkStatusChanged(current: ForkStatus | undefined, desired: ForkStatus): boolean {
  return FIELDS.some(
    (field) => !isDeepStrictEqual(current?.[field] ?? null, desired[field] ?? null),
  );
}

/** The merge patch that turns the current status into `desired` (absent fields become null). */
export function forkStatusPatch(desired: ForkStatus): { status: Record<string, unknown> } {
  return { status: Object.fromEntries(FIELDS.map((field) => [field, desired[field] ?? null])) };
}
