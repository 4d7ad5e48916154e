import type { VirtualService, VSConfig } from '../../src/index.js';

export interface ForkFixture {
  name: string;
  value?: unknown;
  service?: unknown;
  host?: unknown;
  header?: unknown;
  port?: unknown;
  /** `metadata.creationTimestamp`; omitted when undefined. */
  created?: string;
  namespace?: string;
}

/** A VSConfig of host `cart` in namespace `shop` unless told otherwise. */
export function vsconfig(fixture: ForkFixture): VSConfig {
  const {
    name,
    value = 'alice',
    service = `cart-${String(value).toLowerCase()}`,
    host = 'cart',
  } = fixture;
  const spec: Record<string, unknown> = { headerValue: value, host, service };
  if (fixture.header !== undefined) spec.headerName = fixture.header;
  if (fixture.port !== undefined) spec.port = fixture.port;
  const metadata: VSConfig['metadata'] = { name, namespace: fixture.namespace ?? 'shop' };
  if (fixture.created !== undefined) metadata.creationTimestamp = fixture.created;
  // Deliberately loose: fixtures also build VSConfigs that break the rules.
  return {
    apiVersion: 'kubefork.dev/v1beta1',
    kind: 'VSConfig',
    metadata,
    spec,
  } as unknown as VSConfig;
}

/** `<name>.shop.svc.cluster.local` */
export function fqdn(name: string, namespace = 'shop'): string {
  return `${name}.${namespace}.svc.cluster.local`;
}

/** A VirtualService for `cart` that someone else wrote (e.g. a canary split by path). */
export function foreignVirtualService(annotations: Record<string, string> = {}): VirtualService {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: {
      name: 'cart-routing',
      namespace: 'shop',
      uid: '6b1f3c1e-0000-4000-8000-000000000001',
      resourceVersion: '4711',
      generation: 3,
      creationTimestamp: '2023-01-01T00:00:00Z',
      managedFields: [{ manager: 'kubectl' }],
      labels: { team: 'checkout' },
      annotations,
    },
    spec: {
      hosts: ['cart'],
      exportTo: ['.'],
      http: [
        {
          name: 'canary',
          match: [{ headers: { 'x-canary': { exact: 'on' } } }],
          route: [{ destination: { host: 'cart', subset: 'canary' } }],
        },
        { name: 'primary', route: [{ destination: { host: 'cart', subset: 'stable' } }] },
      ],
      tcp: [{ route: [{ destination: { host: 'cart', port: { number: 5432 } } }] }],
    },
    status: { validationMessages: [] },
  };
}
