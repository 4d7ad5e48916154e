import type { Deployment, Fork, ForkServiceSpec, Service } from '../../src/fork-types.js';

/** A Fork `name` of namespace `shop`, created at `created`. */
export function fork(
  name: string,
  services: ForkServiceSpec[],
  extra: { forkId?: string; ttl?: string; created?: string; uid?: string; namespace?: string } = {},
): Fork {
  const spec: Fork['spec'] = { services };
  if (extra.forkId !== undefined) spec.forkId = extra.forkId;
  if (extra.ttl !== undefined) spec.ttl = extra.ttl;
  return {
    apiVersion: 'kubefork.dev/v1beta1',
    kind: 'Fork',
    metadata: {
      name,
      namespace: extra.namespace ?? 'shop',
      uid: extra.uid ?? `uid-${name}`,
      generation: 1,
      creationTimestamp: extra.created ?? '2026-12-01T10:00:00Z',
    },
    spec,
  };
}

/** A Service of `shop` selecting `selector`, one HTTP port. */
export function service(name: string, selector: Record<string, string> | undefined): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop', uid: `uid-svc-${name}`, resourceVersion: '7' },
    spec: {
      type: 'ClusterIP',
      ...(selector ? { selector } : {}),
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP', nodePort: 30080 }],
    },
  };
}

/** A Deployment of `shop` as the API server returns it: status, uid, managedFields and all. */
export function deployment(
  name: string,
  podLabels: Record<string, string>,
  containers: { name: string; image: string; env?: { name: string; value: string }[] }[] = [
    { name: 'app', image: `registry.example.com/${name}:1` },
  ],
): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: 'shop',
      uid: `uid-deploy-${name}`,
      resourceVersion: '42',
      generation: 3,
      creationTimestamp: '2026-11-01T00:00:00Z',
      labels: { app: name, team: 'checkout' },
      annotations: { 'deployment.kubernetes.io/revision': '3' },
      managedFields: [{ manager: 'kubectl' }],
      ownerReferences: [
        { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', name: 'shop', uid: 'uid-argo' },
      ],
    },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: {
          creationTimestamp: null,
          labels: podLabels,
          annotations: { 'sidecar.istio.io/inject': 'true' },
        },
        spec: {
          containers: containers.map((c) => ({
            ...c,
            ports: [{ name: 'http', containerPort: 8080 }],
          })),
        },
      },
    },
    status: { replicas: 4, readyReplicas: 4, observedGeneration: 3 },
  } as unknown as Deployment;
}
