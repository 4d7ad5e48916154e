// Public surface of @kubefork/controller. Anything not exported here is internal.

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
export { baggageLimitRegex, baggageMemberRegex, headerValueRegex } from './routes.js';
// The running controller (runtime/ talks to the API server; everything above is pure).
export type { Controller, ControllerOptions } from './runtime/controller.js';
export { startController } from './runtime/controller.js';
export { loadKubeConfig } from './runtime/kube-config.js';
export type { LeaderElectionOptions } from './runtime/leader.js';
export type { Logger, LogLevel } from './runtime/logger.js';
export { createJsonLogger } from './runtime/logger.js';
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
