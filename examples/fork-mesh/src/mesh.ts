// The orchestrator: starts the stand-in router and every service instance as child processes,
// wires them together through the router and hands back what the demo and the suites need.
import { fileURLToPath } from 'node:url';
import type { VirtualService, VSConfig } from '@kubefork/controller';
import { MeshChild } from './child.js';
import {
  FORKS_DIR,
  type InstanceSpec,
  loadVSConfigs,
  meshInstances,
  planVirtualServices,
} from './forks.js';
import type { InvalidSummary } from './invalid-log.js';
import type { RouteConfig } from './router/route-table.js';
import { type ServiceName, serviceFqdn, serviceSpec } from './topology.js';

const SERVE = fileURLToPath(new URL('./serve.js', import.meta.url));
const ROUTER = fileURLToPath(new URL('./router/main.js', import.meta.url));

export interface MeshOptions {
  /** Directory of the VSConfig YAML files. Default `examples/fork-mesh/k8s/forks/`. */
  forksDir?: string;
  /** Node flags for every service process, e.g. `['--expose-gc']`. Default none. */
  execArgv?: readonly string[];
  /** Environment of every child process. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** How long each process may take to start. Default 30 s. */
  startTimeoutMs?: number;
}

/** One running service instance. */
export interface MeshInstance {
  readonly name: string;
  readonly service: ServiceName;
  /** The kubefork integration it runs on (`Express`, `Fastify`, `gRPC`, `node:http`). */
  readonly integration: string;
  /** Its own port on 127.0.0.1 (bypassing the router). */
  readonly port: number;
  readonly pid: number | undefined;
}

/** What a service instance reports about itself. */
export interface InstanceStats {
  /** Chain requests it has handled. */
  readonly served: number;
  /** The fork ids it ignored, through `onInvalid`. */
  readonly invalid: InvalidSummary;
}

export interface Mesh {
  /** The entry point: service A behind the router, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The router's address of each service, as the services use it (`http://…` or gRPC `host:port`). */
  readonly serviceAddresses: Readonly<Record<ServiceName, string>>;
  readonly vsconfigs: readonly VSConfig[];
  /** The planned VirtualServices the router applies, by host. */
  readonly virtualServices: ReadonlyMap<string, VirtualService>;
  readonly instances: readonly MeshInstance[];
  /** The process id of the router. */
  readonly routerPid: number | undefined;
  /** The instance called `name`; throws for an unknown name. */
  instance(name: string): MeshInstance;
  stats(name: string): Promise<InstanceStats>;
  /** `heapUsed` of an instance after full collections; needs `execArgv: ['--expose-gc']`. */
  heapAfterGc(name: string): Promise<number>;
  /** Names of the processes (instances and router) that are no longer running. */
  exited(): string[];
  /** Stops every process of the mesh; safe to call more than once. */
  stop(): Promise<void>;
}

function address(service: ServiceName, port: number): string {
  return serviceSpec(service).protocol === 'grpc'
    ? `127.0.0.1:${port}`
    : `http://127.0.0.1:${port}`;
}

/**
 * Starts the mesh: the router (one port per service), then every instance — the baseline of
 * A, B, C, E and one per fork Service named in the VSConfigs — each in its own process,
 * calling the next service through the router. If anything fails to start, everything
 * started so far is stopped and the error is thrown.
 *
 * @example
 * const mesh = await startMesh();
 * try {
 *   const res = await fetch(`${mesh.url}/chain`, { headers: { 'x-fork-identifier': 'alice' } });
 *   console.log((await res.json()).hops.map((hop) => hop.instance)); // ['a', 'b-alice', 'c', 'e-alice']
 * } finally {
 *   await mesh.stop();
 * }
 */
export async function startMesh(options: MeshOptions = {}): Promise<Mesh> {
  const {
    forksDir = FORKS_DIR,
    execArgv = [],
    env = process.env,
    startTimeoutMs = 30_000,
  } = options;
  const vsconfigs = loadVSConfigs(forksDir);
  const virtualServices = planVirtualServices(vsconfigs);
  const specs = meshInstances(vsconfigs);
  const children: MeshChild[] = [];
  const stop = async () => {
    await Promise.all(children.map((child) => child.stop()));
  };

  try {
    const router = await MeshChild.start('router', ROUTER, { env, timeoutMs: startTimeoutMs });
    children.push(router.child);
    const routerPorts = router.ready.ports;
    const serviceAddresses = Object.fromEntries(
      Object.entries(routerPorts).map(([name, port]) => [name, address(name as ServiceName, port)]),
    ) as Record<ServiceName, string>;

    // allSettled, not all: every process that does start must be in `children` before a
    // failure of another one stops them all.
    const settled = await Promise.allSettled(
      specs.map(async (spec: InstanceSpec) => {
        const downstream = serviceSpec(spec.service).downstream;
        const { child, ready } = await MeshChild.start(spec.name, SERVE, {
          env: {
            ...env,
            MESH_SERVICE: spec.service,
            MESH_INSTANCE: spec.name,
            MESH_DOWNSTREAM: downstream === undefined ? '' : serviceAddresses[downstream],
            HOST: '127.0.0.1',
            PORT: '0',
          },
          execArgv,
          timeoutMs: startTimeoutMs,
        });
        children.push(child);
        const instance: MeshInstance = {
          name: spec.name,
          service: spec.service,
          integration: serviceSpec(spec.service).integration,
          port: ready.ports[spec.name]!,
          pid: child.pid,
        };
        return { instance, child };
      }),
    );
    const started = settled.map((result) => {
      if (result.status === 'rejected') throw result.reason;
      return result.value;
    });

    const routes: RouteConfig = {
      virtualServices: Object.fromEntries(virtualServices),
      destinations: Object.fromEntries(
        started.map(({ instance }) => [serviceFqdn(instance.name), instance.port]),
      ),
    };
    await router.child.request('configure', routes);

    const instances = started.map(({ instance }) => instance);
    const byName = new Map(started.map((entry) => [entry.instance.name, entry]));
    const lookup = (name: string) => {
      const entry = byName.get(name);
      if (entry === undefined) {
        throw new TypeError(
          `No instance ${JSON.stringify(name)} in the mesh (${[...byName.keys()].join(', ')})`,
        );
      }
      return entry;
    };
    return {
      url: serviceAddresses.a,
      serviceAddresses,
      vsconfigs,
      virtualServices,
      instances,
      routerPid: router.child.pid,
      instance: (name) => lookup(name).instance,
      stats: async (name) => (await lookup(name).child.request('stats')) as InstanceStats,
      heapAfterGc: async (name) => (await lookup(name).child.request('heap')) as number,
      exited: () => children.filter((child) => !child.alive).map((child) => child.name),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
