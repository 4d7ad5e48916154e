// The shapes the controller reads and writes: the VSConfig custom resource and the subset of the
// Istio VirtualService it generates or adopts. Plain interfaces on purpose: objects come from the
// API server or from YAML files and are validated at run time (see validate.ts), never trusted
// because of their static type.

/** The part of Kubernetes `ObjectMeta` the controller uses; other fields pass through untouched. */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  /** RFC 3339, e.g. `2024-05-01T12:00:00Z`; decides which of two duplicate forks wins. */
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  /** Set once deletion started (finalizers or foreground deletion still pending). */
  deletionTimestamp?: string;
  [field: string]: unknown;
}

/** `metav1.OwnerReference`: the garbage collector deletes the object after its owner. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** `VSConfig.spec`: one developer's fork of one host. */
export interface VSConfigSpec {
  /** Request header that selects the fork. Default `x-fork-identifier`. */
  headerName?: string;
  /** Value of that header (the fork id), e.g. `alice`. */
  headerValue: string;
  /** The Service whose traffic is overridden (a DNS-1035 label in the VSConfig's namespace). */
  host: string;
  /** The fork's Service that receives the matching requests (same namespace). */
  service: string;
  /** Port of `service` to send to. Default: Istio's choice (the only port, or the request's). */
  port?: number;
}

/** A `metav1.Condition`, as written to `VSConfig.status.conditions`. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** `VSConfig.status`, written by the running controller through the `/status` subresource. */
export interface VSConfigStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  /** Name of the VirtualService that routes this fork. */
  virtualService?: string;
}

/** The `VSConfig` custom resource (`kubefork.dev/v1beta1`). */
export interface VSConfig {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: VSConfigSpec;
  status?: VSConfigStatus;
}

/** Istio `StringMatch`: exactly one of the three. `regex` is RE2 syntax and must match the whole value. */
export interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

/** Istio `HTTPMatchRequest`; all conditions of one match must hold. */
export interface HTTPMatchRequest {
  name?: string;
  /** Keys are lower-case header names. */
  headers?: Record<string, StringMatch>;
  withoutHeaders?: Record<string, StringMatch>;
  [field: string]: unknown;
}

export interface PortSelector {
  number: number;
}

export interface Destination {
  host: string;
  subset?: string;
  port?: PortSelector;
}

export interface HTTPRouteDestination {
  destination: Destination;
  weight?: number;
  [field: string]: unknown;
}

/** Istio `HTTPRoute`: taken when any of its `match` entries holds (or when it has none). */
export interface HTTPRoute {
  name?: string;
  match?: HTTPMatchRequest[];
  route?: HTTPRouteDestination[];
  [field: string]: unknown;
}

export interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
  http?: HTTPRoute[];
  [field: string]: unknown;
}

/** An Istio `VirtualService` (`networking.istio.io`). */
export interface VirtualService {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: VirtualServiceSpec;
  [field: string]: unknown;
}

/**
 * Why a VSConfig is or is not routed; becomes the `reason` of its `Ready` condition.
 * - `Accepted`: its routes are in the plan.
 * - `Invalid`: a field breaks the rules of the CRD (e.g. `host` equals `service`).
 * - `HeaderNotAllowed`: `headerName` is not on the controller's allow-list.
 * - `RegexTooLong`: `headerName` and `headerValue` are too long together: a route would need a
 *   regex over the 1,024 characters Istio's validation allows (`ISTIO_REGEX_MAX_LENGTH`).
 * - `DuplicateHeaderValue`: an older VSConfig already routes the same header and value.
 * - `HostClaimedByForeignVirtualService`: a VirtualService kubefork does not manage already owns
 *   the host and is not annotated `kubefork.dev/adopt: "true"`.
 */
export type PlanReason =
  | 'Accepted'
  | 'Invalid'
  | 'HeaderNotAllowed'
  | 'RegexTooLong'
  | 'DuplicateHeaderValue'
  | 'HostClaimedByForeignVirtualService';

/** The verdict on one VSConfig. */
export interface PlanResult {
  /** `metadata.name` of the VSConfig (`''` when it has none). */
  name: string;
  ready: boolean;
  reason: PlanReason;
  /** One human-readable sentence, safe to put into a condition or an event. */
  message: string;
}

/** Everything `planHost` decided for one `(namespace, host)`. */
export interface HostPlan {
  /**
   * The complete VirtualService the host should have, or `null` when kubefork wants no object of
   * its own for it (no accepted fork, or a foreign VirtualService claims the host). `null` never
   * means "delete the foreign one": only objects labelled `app.kubernetes.io/managed-by: kubefork`
   * are kubefork's to delete.
   */
  virtualService: VirtualService | null;
  /** One entry per input VSConfig, sorted by name. */
  results: PlanResult[];
}

/** Input of `planHost`. */
export interface PlanHostInput {
  /** Namespace of the host, its forks and the VirtualService. */
  namespace: string;
  /** Name of the host Service (`spec.host` of the VSConfigs). */
  host: string;
  /** Every VSConfig whose `spec.host` is `host` in `namespace`, in any order. */
  vsconfigs: VSConfig[];
  /** The VirtualService that currently routes the host, managed by kubefork or not. */
  existing?: VirtualService;
  /** Header names a VSConfig may use. Default `['x-fork-identifier']`. */
  headerAllowList?: string[];
  /** DNS suffix of the cluster, used for fully qualified hosts. Default `cluster.local`. */
  clusterDomain?: string;
}

/** A request as `matchRoute` sees it: header names in any case, one value per name. */
export interface RouteRequest {
  headers: Record<string, string>;
}
