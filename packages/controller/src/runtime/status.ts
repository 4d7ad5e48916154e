// VSConfig status as the controller writes it: `observedGeneration`, a `Ready` condition
// (metav1.Condition) whose reason comes from the plan, or `ServiceNotFound` when the plan routes
// the fork but its Service does not exist, and the VirtualService that routes it.

import { isDeepStrictEqual } from 'node:util';
import type { Condition, PlanResult, VSConfig, VSConfigStatus } from '../types.js';

export const READY_CONDITION = 'Ready';

export interface StatusInput {
  vsconfig: VSConfig;
  result: PlanResult;
  /** Name of the planned VirtualService, when there is one. */
  virtualService: string | undefined;
  /** Whether the fork's Service (`spec.service`) exists in the namespace. */
  serviceExists: boolean;
  /** RFC 3339 time for a new `lastTransitionTime`. */
  now: string;
}

/** The status `vsconfig` should have; other condition types already present are kept. */
export function desiredStatus(input: StatusInput): VSConfigStatus {
  const { vsconfig, result, virtualService, serviceExists, now } = input;
  const generation = vsconfig.metadata.generation;
  const missingService = result.ready && !serviceExists;
  const service = vsconfig.spec?.service;
  const reason = missingService ? 'ServiceNotFound' : result.reason;
  const message = missingService
    ? `Service "${service}" does not exist in namespace "${vsconfig.metadata.namespace}": the route is in place, but requests for this fork fail until the Service exists.`
    : result.message;
  const ready: Condition['status'] = result.ready && serviceExists ? 'True' : 'False';
  const previous = vsconfig.status?.conditions?.find((c) => c.type === READY_CONDITION);
  const condition: Condition = {
    type: READY_CONDITION,
    status: ready,
    reason,
    message,
    lastTransitionTime: previous?.status === ready ? previous.lastTransitionTime : now,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
  };
  const others = (vsconfig.status?.conditions ?? []).filter((c) => c.type !== READY_CONDITION);
  const status: VSConfigStatus = { conditions: [condition, ...others] };
  if (generation !== undefined) status.observedGeneration = generation;
  if (result.ready && virtualService !== undefined) status.virtualService = virtualService;
  return status;
}

/** Whether writing `desired` would change anything. */
export function statusChanged(
  current: VSConfigStatus | undefined,
  desired: VSConfigStatus,
): boolean {
  return !isDeepStrictEqual(normalize(current), normalize(desired));
}

function normalize(status: VSConfigStatus | undefined): VSConfigStatus {
  const { observedGeneration, conditions, virtualService } = status ?? {};
  const out: VSConfigStatus = {};
  if (observedGeneration !== undefined) out.observedGeneration = observedGeneration;
  if (conditions !== undefined && conditions.length > 0) {
    out.conditions = conditions.map((c) => ({ ...c }));
  }
  if (virtualService !== undefined) out.virtualService = virtualService;
  return out;
}

/** The merge patch that turns the current status into `desired` (absent fields become null). */
export function statusPatch(desired: VSConfigStatus): { status: Record<string, unknown> } {
  return {
    status: {
      observedGeneration: desired.observedGeneration ?? null,
      conditions: desired.conditions ?? null,
      virtualService: desired.virtualService ?? null,
    },
  };
}

/** The Ready condition of a status, if any. */
export function readyCondition(status: VSConfigStatus | undefined): Condition | undefined {
  return status?.conditions?.find((c) => c.type === READY_CONDITION);
}
