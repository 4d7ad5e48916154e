// Scale of the controller benchmarks (controller.bench.ts, controller-cluster.bench.ts), from the
// environment. Both files read the same variables, so a side-by-side run compares equal work.

export interface ControllerBenchOptions {
  namespaces: number;
  hosts: number;
  /** VSConfigs (forks) per host. */
  forks: number;
  workers: number;
  /** The controller's --resync: the no-op resync pass is the first one after convergence. */
  resyncSeconds: number;
  /** One-VSConfig changes timed (the median is reported). */
  changeSamples: number;
  quick: boolean;
}

/** Hosts spread round-robin over `namespaces`: host h is `svc-h` in `team-(h % namespaces)`. */
export interface HostRef {
  namespace: string;
  host: string;
}

const truthy = (value: string | undefined) => value === '1' || value === 'true';

/**
 * The scale by default (10,000 VSConfigs over 1,000 hosts in 10 namespaces); BENCH_QUICK=1
 * shrinks it to a smoke run of seconds. Each variable still overrides the default.
 */
export function controllerBenchOptions(
  env: Record<string, string | undefined> = process.env,
): ControllerBenchOptions {
  const quick = truthy(env.BENCH_QUICK);
  const read = (name: string, fallback: number, min: number) => {
    const text = env[name];
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) {
      throw new TypeError(`${name} must be an integer ≥ ${min}; received "${text}"`);
    }
    return value;
  };
  return {
    namespaces: read('BENCH_NAMESPACES', quick ? 2 : 10, 1),
    hosts: read('BENCH_HOSTS', quick ? 20 : 1000, 1),
    forks: read('BENCH_FORKS', quick ? 2 : 10, 1),
    workers: read('BENCH_WORKERS', 4, 1),
    resyncSeconds: read('BENCH_RESYNC', quick ? 3 : 45, 1),
    changeSamples: read('BENCH_CHANGES', quick ? 3 : 9, 1),
    quick,
  };
}

export function hostsOf(options: ControllerBenchOptions): HostRef[] {
  const hosts: HostRef[] = [];
  for (let h = 0; h < options.hosts; h += 1)
    hosts.push({ namespace: `team-${h % options.namespaces}`, host: `svc-${h}` });
  return hosts;
}

/** Every host gets a VirtualService with one header route and one baggage route per fork, plus the default. */
export const routesPerHost = (options: ControllerBenchOptions) => 2 * options.forks + 1;

export const VSC_API = 'kubefork.dev/v1beta1';
export const VS_API = 'networking.istio.io/v1beta1';

/** What the benchmark seeds for one (host, fork): the fork's Service and its VSConfig. */
export function vsconfigOf(namespace: string, host: string, fork: number) {
  return {
    apiVersion: VSC_API,
    kind: 'VSConfig',
    metadata: { name: `${host}-dev${fork}`, namespace },
    spec: { headerValue: `dev${fork}`, host, service: `${host}-dev${fork}` },
  };
}

/**
 * Headless: the controller only asks whether a fork's Service exists, and a ClusterIP would make a
 * real API server allocate an address (and an IPAddress object) per Service, which made seeding
 * four times slower without touching the controller's figures.
 */
export function serviceOf(namespace: string, name: string) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { clusterIP: 'None', ports: [{ port: 80 }] },
  };
}
