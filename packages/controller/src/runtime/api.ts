// The API clients the controller uses, built like KubeConfig.makeApiClient plus a timeout on
// every request: client-node 1.4 sets none, so one slow or hung response would stall a worker
// (or the lease renewal) for as long as the TCP connection lives.
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  createConfiguration,
  type KubeConfig,
  type Middleware,
  ServerConfiguration,
} from '@kubernetes/client-node';

export interface KubeApis {
  custom: CustomObjectsApi;
  core: CoreV1Api;
  coordination: CoordinationV1Api;
}

export function createApis(kubeConfig: KubeConfig, requestTimeoutMs: number): KubeApis {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubefork: the kubeconfig has no current cluster');
  const timeout: Middleware = {
    async pre(context) {
      context.setSignal(AbortSignal.timeout(requestTimeoutMs));
      return context;
    },
    async post(context) {
      return context;
    },
  };
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kubeConfig },
    promiseMiddleware: [timeout],
  });
  return {
    custom: new CustomObjectsApi(configuration),
    core: new CoreV1Api(configuration),
    coordination: new CoordinationV1Api(configuration),
  };
}
