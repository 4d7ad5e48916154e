// Names shared by the CRD, the planner and the running controller. Exported: part of the contract
// with the cluster (labels, annotations, API versions), so they never change silently.

/** API group of the VSConfig custom resource. */
export const VSCONFIG_GROUP = 'kubefork.dev';
/** `apiVersion` of VSConfig objects. */
export const VSCONFIG_API_VERSION = 'kubefork.dev/v1beta1';
export const VSCONFIG_KIND = 'VSConfig';
/**
 * `apiVersion` of the VirtualServices kubefork writes. `v1beta1` is served by every Istio release
 * since 1.5 (and `v1`, served since 1.22, is the same schema), so one controller fits all clusters.
 */
export const VIRTUAL_SERVICE_API_VERSION = 'networking.istio.io/v1beta1';
export const VIRTUAL_SERVICE_KIND = 'VirtualService';

/** Label on every VirtualService kubefork owns (value `kubefork`). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'kubefork';
/** Label naming the host Service a managed VirtualService routes. */
export const HOST_LABEL = 'kubefork.dev/host';
/** Annotation (`"true"`) on a foreign VirtualService that lets kubefork add fork routes to it. */
export const ADOPT_ANNOTATION = 'kubefork.dev/adopt';

/** Every generated route name starts with this; adopted VirtualServices are cleaned by it. */
export const ROUTE_NAME_PREFIX = 'kubefork-';
/** Name of the last route of a managed VirtualService (never collides: fork routes are prefixed). */
export const DEFAULT_ROUTE_NAME = 'default';
/** Header names a VSConfig may use unless the controller is told otherwise. */
export const DEFAULT_HEADER_ALLOW_LIST: readonly string[] = Object.freeze(['x-fork-identifier']);
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';
