// The fake API server of the controller's tests (in this process, HTTP on loopback), seeded
// straight into its store. Convergence and changes are seen through the store's own watch.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonObject } from '../../packages/controller/test/support/fake-api/json.js';
import { FakeApiServer } from '../../packages/controller/test/support/fake-api/server.js';
import type { ControllerBackend } from './backend.js';
import {
  type ControllerBenchOptions,
  hostsOf,
  routesPerHost,
  serviceOf,
  VS_API,
  VSC_API,
  vsconfigOf,
} from './options.js';

export async function startFakeBackend(
  options: ControllerBenchOptions,
): Promise<ControllerBackend> {
  const server = await FakeApiServer.start({ historyLimit: 1_000_000 });
  const { store } = server;
  const vsconfigType = store.type('kubefork.dev', 'v1beta1', 'vsconfigs')!;
  const vsType = store.type('networking.istio.io', 'v1beta1', 'virtualservices')!;
  const serviceType = store.type('', 'v1', 'services')!;
  const routes = routesPerHost(options);
  const vsconfigs = options.hosts * options.forks;

  const seedStarted = performance.now();
  for (const { namespace, host } of hostsOf(options)) {
    store.create(serviceType, 'v1', namespace, serviceOf(namespace, host), { manager: 'seed' });
    for (let f = 0; f < options.forks; f += 1) {
      const service = serviceOf(namespace, `${host}-dev${f}`);
      store.create(serviceType, 'v1', namespace, service, { manager: 'seed' });
      store.create(vsconfigType, VSC_API, namespace, vsconfigOf(namespace, host, f), {
        manager: 'seed',
      });
    }
  }
  const seedMs = performance.now() - seedStarted;

  const vsDone = new Set<string>();
  const vscReady = new Set<string>();
  let onProgress = () => {};
  store.watch(vsType, VS_API, {}, ({ type, object }) => {
    const metadata = object.metadata as JsonObject;
    const key = `${metadata.namespace}/${metadata.name}`;
    const http = (object.spec as { http?: unknown[] } | undefined)?.http;
    if (type !== 'DELETED' && http?.length === routes) vsDone.add(key);
    else vsDone.delete(key);
    onProgress();
  });
  store.watch(vsconfigType, VSC_API, {}, ({ type, object }) => {
    const metadata = object.metadata as { namespace: string; name: string; generation: number };
    const key = `${metadata.namespace}/${metadata.name}`;
    const status = object.status as
      | { observedGeneration?: number; conditions?: { type: string; status: string }[] }
      | undefined;
    const ready = status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (type !== 'DELETED' && ready && status?.observedGeneration === metadata.generation)
      vscReady.add(key);
    else vscReady.delete(key);
    onProgress();
  });
  const isConverged = () => vsDone.size === options.hosts && vscReady.size === vsconfigs;

  const home = await mkdtemp(join(tmpdir(), 'kubefork-bench-fake-'));
  const kubeconfig = join(home, 'kubeconfig');
  await writeFile(kubeconfig, server.kubeConfigYaml());

  return {
    name: 'fake API server',
    kubeconfig,
    seedMs,
    cpuLabel: 'this process (the fake API server runs in it)',
    serverCpuSeconds() {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1e6;
    },
    writes: () => server.writes(),
    converged(timeoutMs = 600_000) {
      if (isConverged()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('benchmark: timed out')), timeoutMs);
        onProgress = () => {
          if (!isConverged()) return;
          clearTimeout(timer);
          onProgress = () => {};
          resolve();
        };
      });
    },
    async change(namespace, name, host, value) {
      const applied = new Promise<number>((resolve) => {
        const unsubscribe = store.watch(
          vsType,
          VS_API,
          { namespace, fieldSelector: `metadata.name=${host}` },
          ({ object }) => {
            const http = (object.spec as { http?: { name?: string }[] }).http ?? [];
            if (http.some((route) => route.name === `kubefork-${value}`)) {
              resolve(performance.now());
              queueMicrotask(() => unsubscribe());
            }
          },
        );
      });
      const changedAt = performance.now();
      store.patch(
        vsconfigType,
        VSC_API,
        namespace,
        name,
        { spec: { headerValue: value } },
        { manager: 'kubectl', contentType: 'application/merge-patch+json' },
      );
      return (await applied) - changedAt;
    },
    async close() {
      await server.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}
