// The forks of the demo, declared the way a developer declares them in a cluster: VSConfig
// objects in the YAML files of k8s/forks/. The demo plans the VirtualServices from them with the
// controller's own planner, so what runs here is what the controller would apply.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  planHost,
  type VirtualService,
  VSCONFIG_API_VERSION,
  VSCONFIG_KIND,
  type VSConfig,
} from '@kubefork/controller';
import { parseAllDocuments } from 'yaml';
import { NAMESPACE, SERVICES, type ServiceName, serviceSpec } from './topology.js';

/** `examples/fork-mesh/k8s/forks/`: one file per fork (Deployment, Service, VSConfig). */
export const FORKS_DIR = fileURLToPath(new URL('../k8s/forks/', import.meta.url));

/** One running copy of a service: the baseline (`b`) or a fork (`b-alice`). */
export interface InstanceSpec {
  /** The Kubernetes Service name of this copy; unique in the mesh. */
  readonly name: string;
  /** The service it is a copy of. */
  readonly service: ServiceName;
}

function isVSConfig(value: unknown): value is VSConfig {
  if (typeof value !== 'object' || value === null) return false;
  const { apiVersion, kind } = value as { apiVersion?: unknown; kind?: unknown };
  return kind === VSCONFIG_KIND && apiVersion === VSCONFIG_API_VERSION;
}

/**
 * Every VSConfig in the `*.yaml` files of `dir`, in file order; other objects (the forks'
 * Deployments and Services) are skipped. Throws for a file that is not valid YAML, naming it.
 */
export function loadVSConfigs(dir: string = FORKS_DIR): VSConfig[] {
  const files = readdirSync(dir)
    .filter((file) => file.endsWith('.yaml') || file.endsWith('.yml'))
    .sort();
  const vsconfigs: VSConfig[] = [];
  for (const file of files) {
    for (const document of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      const [error] = document.errors;
      if (error !== undefined) throw new Error(`${join(dir, file)}: ${error.message}`);
      const value: unknown = document.toJS();
      if (isVSConfig(value)) vsconfigs.push(value);
    }
  }
  return vsconfigs;
}

/**
 * The VirtualService of every service that has forks, planned by `planHost` exactly as the
 * controller would. Services without a VirtualService are routed to themselves (as Istio does).
 * Throws when the planner rejects a VSConfig: the demo must run the forks it declares.
 */
export function planVirtualServices(vsconfigs: readonly VSConfig[]): Map<string, VirtualService> {
  const byHost = new Map<string, VSConfig[]>();
  for (const vsconfig of vsconfigs) {
    const host = vsconfig.spec.host;
    byHost.set(host, [...(byHost.get(host) ?? []), vsconfig]);
  }
  const planned = new Map<string, VirtualService>();
  for (const [host, group] of byHost) {
    serviceSpec(host);
    const plan = planHost({ namespace: NAMESPACE, host, vsconfigs: group });
    const rejected = plan.results.filter((result) => !result.ready);
    if (rejected.length > 0 || plan.virtualService === null) {
      const reasons = rejected.map((r) => `${r.name}: ${r.reason}: ${r.message}`).join('\n');
      throw new Error(`The planner rejected VSConfigs of host ${host}:\n${reasons}`);
    }
    planned.set(host, plan.virtualService);
  }
  return planned;
}

/** The baseline of every service, then one instance per fork Service the VSConfigs name. */
export function meshInstances(vsconfigs: readonly VSConfig[]): InstanceSpec[] {
  const instances: InstanceSpec[] = SERVICES.map((service) => ({
    name: service.name,
    service: service.name,
  }));
  for (const { spec } of vsconfigs) {
    const service = serviceSpec(spec.host).name;
    if (!instances.some((instance) => instance.name === spec.service)) {
      instances.push({ name: spec.service, service });
    }
  }
  return instances;
}

/**
 * The instance that should serve `service` for a request in `fork`, read straight from the
 * VSConfigs (not from the planned routes): the oracle the demo and the tests check against.
 */
export function expectedInstance(
  vsconfigs: readonly VSConfig[],
  service: ServiceName,
  fork: string | null,
): string {
  if (fork === null) return service;
  const match = vsconfigs.find(
    ({ spec }) =>
      spec.host === service &&
      spec.headerValue === fork &&
      (spec.headerName ?? 'x-fork-identifier') === 'x-fork-identifier',
  );
  return match?.spec.service ?? service;
}
