// The API clients the controller uses, built like KubeConfig.makeApiClient plus two things
// client-node 1.4 does not do for plain API calls:
// - a timeout on every request, so one hung response cannot stall a worker (or the lease
//   renewal) for as long as the TCP connection lives;
// - connection reuse: client-node creates a new http(s).Agent, without keep-alive, for every
//   request, i.e. a new TCP connection and TLS handshake per call. We swap in one keep-alive
//   agent with the same TLS settings (proxy agents are left alone).
import * as http from 'node:http';
import * as https from 'node:https';
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
  /** Closes the pooled connections. */
  close(): void;
}

/** The options of an agent that decide which server and identity a connection is for. */
const TLS_OPTIONS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'];

type Agent = http.Agent | https.Agent;

/** The options an agent was created with (Node keeps them on `agent.options`). */
function optionsOf(agent: Agent): Record<string, unknown> {
  return ((agent as { options?: object }).options ?? {}) as Record<string, unknown>;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return a === b;
}

/** One keep-alive agent for the current TLS configuration, replacing client-node's per-request ones. */
function createAgentPool() {
  let pooled: { source: Record<string, unknown>; agent: Agent } | undefined;
  const close = () => {
    pooled?.agent.destroy();
    pooled = undefined;
  };
  const reuse = function reuseAgent(agent: Agent | undefined): Agent | undefined {
    const plain = agent?.constructor === http.Agent || agent?.constructor === https.Agent;
    if (!agent || !plain) return agent;
    const options = optionsOf(agent);
    if (pooled && TLS_OPTIONS.every((key) => sameValue(pooled!.source[key], options[key]))) {
      return pooled.agent;
    }
    // New credentials (e.g. a rotated client certificate): new connections from now on; the old
    // agent's requests finish, and its idle sockets are unref'd and closed by the server.
    const settings = { ...options, keepAlive: true, maxSockets: 32, maxFreeSockets: 32 };
    const created =
      agent instanceof https.Agent ? new https.Agent(settings) : new http.Agent(settings);
    pooled = { source: options, agent: created };
    return created;
  };
  return { reuse, close };
}

export function createApis(kubeConfig: KubeConfig, requestTimeoutMs: number): KubeApis {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubefork: the kubeconfig has no current cluster');
  const agents = createAgentPool();
  const transport: Middleware = {
    async pre(context) {
      context.setSignal(AbortSignal.timeout(requestTimeoutMs));
      const agent = agents.reuse(context.getAgent());
      if (agent) context.setAgent(agent);
      return context;
    },
    async post(context) {
      return context;
    },
  };
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kubeConfig },
    promiseMiddleware: [transport],
  });
  return {
    custom: new CustomObjectsApi(configuration),
    core: new CoreV1Api(configuration),
    coordination: new CoordinationV1Api(configuration),
    close: agents.close,
  };
}
