// One row per service of a Fork: its copy, ready replicas, route state and, when it is not in
// place, why. `status` prints them; `fork --wait` polls them.
import type { Fork, VSConfig } from '@kubefork/controller/plan';
import { getObject } from './fork-api.js';
import { observed, readyCondition } from './fork-view.js';
import type { Target } from './kube.js';

export interface ServiceRow {
  service: string;
  /** The copy's Deployment, or `-`. */
  copy: string;
  readyReplicas: number;
  replicas: number;
  /** `Ready`, the VSConfig's reason when not, `Pending` before the controller got to it. */
  route: string;
  /** Why the service is not forked (the controller's reason), when it is not. */
  reason?: string;
  message?: string;
}

/** Reasons that no amount of waiting fixes: the Fork or the cluster must change. */
const PERMANENT = new Set([
  'Invalid',
  'ForkIdInUse',
  'QuotaExceeded',
  'ServiceNotFound',
  'NoDeployment',
  'AmbiguousDeployment',
  'ContainerRequired',
  'ContainerNotFound',
  'ImageNotAllowed',
  'PreviewInUse',
]);

export function isPermanent(reason: string | undefined): boolean {
  return reason !== undefined && PERMANENT.has(reason);
}

export async function serviceRows(target: Target, fork: Fork): Promise<ServiceRow[]> {
  const current = observed(fork);
  const statuses = current ? (fork.status?.services ?? []) : [];
  return Promise.all(
    fork.spec.services.map(async (spec): Promise<ServiceRow> => {
      const replicas = spec.replicas ?? 1;
      const status = statuses.find((entry) => entry.name === spec.name);
      if (!status) {
        return { service: spec.name, copy: '-', readyReplicas: 0, replicas, route: 'Pending' };
      }
      if (status.reason) {
        return {
          service: spec.name,
          copy: '-',
          readyReplicas: 0,
          replicas,
          route: '-',
          reason: status.reason,
          message: status.message ?? '',
        };
      }
      let route = 'Pending';
      if (status.vsConfig) {
        const vsConfig = await getObject<VSConfig>(target, 'vsconfigs', status.vsConfig);
        if (vsConfig === 'forbidden') route = 'Unknown (may not get vsconfigs)';
        else if (vsConfig === undefined) route = 'Missing';
        else {
          const ready = vsConfig.status?.conditions?.find((c) => c.type === 'Ready');
          route = ready?.status === 'True' ? 'Ready' : (ready?.reason ?? 'Pending');
        }
      }
      return {
        service: spec.name,
        copy: status.deployment ?? '-',
        readyReplicas: status.readyReplicas ?? 0,
        replicas,
        route,
      };
    }),
  );
}

/** Whether every service is copied, routed and has its replicas ready. */
export function allReady(fork: Fork, rows: ServiceRow[]): boolean {
  return (
    observed(fork) &&
    readyCondition(fork)?.status === 'True' &&
    rows.every((row) => row.route === 'Ready' && row.readyReplicas >= row.replicas)
  );
}

/** What is still missing for one row, or undefined when nothing is. */
export function missing(row: ServiceRow): string | undefined {
  if (row.reason) return `${row.service}: ${row.reason}: ${row.message}`;
  const parts: string[] = [];
  if (row.copy === '-') parts.push('no copy yet');
  if (row.route !== 'Ready') parts.push(`route ${row.route}`);
  if (row.readyReplicas < row.replicas) {
    parts.push(`${row.readyReplicas}/${row.replicas} replicas ready`);
  }
  return parts.length === 0 ? undefined : `${row.service}: ${parts.join(', ')}`;
}
