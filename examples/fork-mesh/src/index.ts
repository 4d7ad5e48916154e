// Public surface of the fork-mesh example, used by the demo and by the suites in test/.

export type { DemoCase } from './cases.js';
export { DEMO_CASES } from './cases.js';
export { chainService, HOP_PATH } from './chain-grpc.js';
export type { ChainResult } from './client.js';
export { requestChain } from './client.js';
export type { InstanceSpec } from './forks.js';
export {
  expectedInstance,
  FORKS_DIR,
  loadVSConfigs,
  meshInstances,
  planVirtualServices,
} from './forks.js';
export type { ChainReply, Hop } from './hop.js';
export type { InvalidEntry, InvalidSummary } from './invalid-log.js';
export { reasonsSince } from './invalid-log.js';
export type { CaseVerdict, HopVerdict } from './judge.js';
export { judgeCase } from './judge.js';
export type { InstanceStats, Mesh, MeshInstance, MeshOptions } from './mesh.js';
export { startMesh } from './mesh.js';
export { verdictTable } from './table.js';
export type { Protocol, ServiceName, ServiceSpec } from './topology.js';
export { NAMESPACE, SERVICES, serviceFqdn } from './topology.js';
