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

/** `apiVersion` and kind of the Fork custom resource (same group as VSConfig). */
export const FORK_API_VERSION = 'kubefork.dev/v1beta1';
export const FORK_KIND = 'Fork';
/** Label on everything a Fork makes, and on the copy's pods: the fork id (label-safe). */
export const FORK_LABEL = 'kubefork.dev/fork';
/** Label on a copy and its pods: the name of the Service it was copied for. */
export const FORK_SERVICE_LABEL = 'kubefork.dev/service';
/** Annotation on a Fork: changing its value restarts the TTL clock (e.g. `kubectl annotate … --overwrite kubefork.dev/extend-at=$(date +%s)`). */
export const EXTEND_AT_ANNOTATION = 'kubefork.dev/extend-at';
/** Annotation on a preview VirtualService: `<namespace>/<name>` of the Fork it belongs to. */
export const FORK_OWNER_ANNOTATION = 'kubefork.dev/owner';
/** Annotation on everything a Fork makes: a hash of what kubefork last applied. */
export const APPLIED_HASH_ANNOTATION = 'kubefork.dev/applied-hash';
/** Environment variable every container of a copy gets: the fork id. */
export const FORK_ID_ENV = 'KUBEFORK_FORK_ID';
/** Name prefix of the preview VirtualService of a Fork. */
export const PREVIEW_NAME_PREFIX = 'kubefork-preview-';
export const DEFAULT_FORK_TTL = '8h';
export const DEFAULT_MAX_FORK_TTL = '168h';
export const DEFAULT_MAX_FORKS_PER_NAMESPACE = 50;
