// `@kubefork/controller/plan`: the controller's pure half as a library. It plans what the running
// controller applies (planHost, planFork), renders VSConfig files the way `kubefork-controller
// render` does, and simulates Istio's route choice (matchRoute), without I/O. It loads none of
// @kubernetes/client-node, prom-client or OpenTelemetry, only `re2js` and, on first use of
// `render` or `stringifyYaml`, `yaml` (test/plan-entry.test.ts walks the built import graph;
// bench/controller-import.bench.ts measures the cold import). The running controller is the main
// entry, `@kubefork/controller`.

export {
  ADOPT_ANNOTATION,
  APPLIED_HASH_ANNOTATION,
  DEFAULT_CLUSTER_DOMAIN,
  DEFAULT_FORK_TTL,
  DEFAULT_HEADER_ALLOW_LIST,
  DEFAULT_MAX_FORK_TTL,
  DEFAULT_MAX_FORKS_PER_NAMESPACE,
  DEFAULT_ROUTE_NAME,
  EXTEND_AT_ANNOTATION,
  FORK_API_VERSION,
  FORK_ID_ENV,
  FORK_KIND,
  FORK_LABEL,
  FORK_OWNER_ANNOTATION,
  FORK_SERVICE_LABEL,
  HOST_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  PREVIEW_NAME_PREFIX,
  ROUTE_NAME_PREFIX,
  VIRTUAL_SERVICE_API_VERSION,
  VIRTUAL_SERVICE_KIND,
  VSCONFIG_API_VERSION,
  VSCONFIG_GROUP,
  VSCONFIG_KIND,
} from './constants.js';
export { planFork } from './fork-plan.js';
export type { ForkDeadline } from './fork-ttl.js';
export { forkDeadline, parseDuration } from './fork-ttl.js';
export type {
  Deployment,
  Fork,
  ForkClock,
  ForkPlan,
  ForkReason,
  ForkServicePlan,
  ForkServiceSpec,
  ForkServiceStatus,
  ForkSpec,
  ForkStatus,
  PlanForkInput,
  PreviewOptions,
  Service,
} from './fork-types.js';
export { matchRoute } from './match-route.js';
export { planHost } from './plan-host.js';
export type { RenderOptions, RenderOutput, RenderSource } from './render.js';
export { RenderInputError, render } from './render.js';
export {
  baggageExcludeRegex,
  baggageLimitRegex,
  baggageMemberRegex,
  headerValueRegex,
  ISTIO_REGEX_MAX_LENGTH,
} from './routes.js';
export type {
  Condition,
  Destination,
  HostPlan,
  HTTPMatchRequest,
  HTTPRoute,
  HTTPRouteDestination,
  ObjectMeta,
  OwnerReference,
  PlanHostInput,
  PlanReason,
  PlanResult,
  PortSelector,
  RouteRequest,
  StringMatch,
  VirtualService,
  VirtualServiceSpec,
  VSConfig,
  VSConfigSpec,
  VSConfigStatus,
} from './types.js';
export {
  isAdoptableVirtualService,
  isManagedVirtualService,
  virtualServiceHosts,
} from './virtual-service.js';
export { stringifyYaml } from './yaml.js';
