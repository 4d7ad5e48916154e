// The resource types the fake API server serves. A type is stored once and served under each of
// its versions (no conversion: the objects of these types are identical across versions).

export interface ResourceType {
  /** `''` for the core group (`/api/v1`). */
  group: string;
  versions: string[];
  plural: string;
  kind: string;
  namespaced: boolean;
  /** `/status` subresource: main writes ignore `status`, status writes ignore everything else. */
  statusSubresource: boolean;
  /** Whether a PUT without `metadata.resourceVersion` is allowed (false for custom resources). */
  unconditionalUpdate: boolean;
}

export function typeKey(type: Pick<ResourceType, 'group' | 'plural'>): string {
  return `${type.group}/${type.plural}`;
}

export const DEFAULT_RESOURCES: ResourceType[] = [
  {
    group: 'kubefork.dev',
    versions: ['v1beta1'],
    plural: 'forks',
    kind: 'Fork',
    namespaced: true,
    statusSubresource: true,
    unconditionalUpdate: false,
  },
  {
    group: 'apps',
    versions: ['v1'],
    plural: 'deployments',
    kind: 'Deployment',
    namespaced: true,
    statusSubresource: true,
    unconditionalUpdate: true,
  },
  {
    group: 'kubefork.dev',
    versions: ['v1beta1'],
    plural: 'vsconfigs',
    kind: 'VSConfig',
    namespaced: true,
    statusSubresource: true,
    unconditionalUpdate: false,
  },
  {
    group: 'networking.istio.io',
    versions: ['v1', 'v1beta1', 'v1alpha3'],
    plural: 'virtualservices',
    kind: 'VirtualService',
    namespaced: true,
    statusSubresource: true,
    unconditionalUpdate: false,
  },
  {
    group: '',
    versions: ['v1'],
    plural: 'services',
    kind: 'Service',
    namespaced: true,
    statusSubresource: true,
    unconditionalUpdate: true,
  },
  {
    group: '',
    versions: ['v1'],
    plural: 'events',
    kind: 'Event',
    namespaced: true,
    statusSubresource: false,
    unconditionalUpdate: true,
  },
  {
    group: 'events.k8s.io',
    versions: ['v1'],
    plural: 'events',
    kind: 'Event',
    namespaced: true,
    statusSubresource: false,
    unconditionalUpdate: true,
  },
  {
    group: 'coordination.k8s.io',
    versions: ['v1'],
    plural: 'leases',
    kind: 'Lease',
    namespaced: true,
    statusSubresource: false,
    unconditionalUpdate: true,
  },
];
