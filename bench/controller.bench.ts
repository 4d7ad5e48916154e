// The kubefork controller at scale, against the fake API server of the controller's tests.
//
// The controller runs as it does in a cluster: the built CLI (`kubefork-controller run`) in its own
// process, talking HTTP to the fake API server in this process through the real client-node.
// Measured:
//   1. start → converged: 10,000 VSConfigs over 1,000 hosts (10 namespaces × 100 hosts × 10 forks),
//      every Service present: every host has its VirtualService (21 routes), every VSConfig is
//      Ready at its generation; API writes against the minimum (1 apply per host + 1 status per
//      VSConfig);
//   2. a periodic resync of everything, nothing changed → API writes (expected 0);
//   3. one VSConfig changed → time until its host's VirtualService has the new route (several
//      samples, one host each);
//   4. a restart with everything converged → time to a full pass and API writes (expected 0).
//
//   pnpm bench controller            # from the repository root (builds first)
//   node --import tsx controller.bench.ts   # from bench/, after `pnpm build`
//
// BENCH_HOSTS / BENCH_FORKS / BENCH_NAMESPACES / BENCH_WORKERS scale it down or up.

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JsonObject } from '../packages/controller/test/support/fake-api/json.js';
import {
  FakeApiServer,
  type RequestRecord,
} from '../packages/controller/test/support/fake-api/server.js';
import { median } from './support/table.js';

const NAMESPACES = Number(process.env.BENCH_NAMESPACES ?? 10);
const HOSTS = Number(process.env.BENCH_HOSTS ?? 1000);
const FORKS = Number(process.env.BENCH_FORKS ?? 10);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 4);
const RESYNC_SECONDS = Number(process.env.BENCH_RESYNC ?? 45);
const CHANGE_SAMPLES = 9;
const bin = fileURLToPath(new URL('../packages/controller/dist/bin.js', import.meta.url));

const server = await FakeApiServer.start({ historyLimit: 1_000_000 });
const { store } = server;
const vsconfigType = store.type('kubefork.dev', 'v1beta1', 'vsconfigs')!;
const vsType = store.type('networking.istio.io', 'v1beta1', 'virtualservices')!;
const serviceType = store.type('', 'v1', 'services')!;
const VSC_API = 'kubefork.dev/v1beta1';
const VS_API = 'networking.istio.io/v1beta1';
const ROUTES = 2 * FORKS + 1;

const hosts: { namespace: string; host: string }[] = [];
for (let h = 0; h < HOSTS; h += 1)
  hosts.push({ namespace: `team-${h % NAMESPACES}`, host: `svc-${h}` });

// --- seed: Services and VSConfigs, straight into the store -------------------------------------
for (const { namespace, host } of hosts) {
  const service = (name: string) => ({
    metadata: { name, namespace },
    spec: { ports: [{ port: 80 }] },
  });
  store.create(serviceType, 'v1', namespace, service(host), { manager: 'seed' });
  for (let f = 0; f < FORKS; f += 1) {
    store.create(serviceType, 'v1', namespace, service(`${host}-dev${f}`), { manager: 'seed' });
    const vsconfig = {
      apiVersion: VSC_API,
      kind: 'VSConfig',
      metadata: { name: `${host}-dev${f}`, namespace },
      spec: { headerValue: `dev${f}`, host, service: `${host}-dev${f}` },
    };
    store.create(vsconfigType, VSC_API, namespace, vsconfig, { manager: 'seed' });
  }
}

// --- convergence tracking through the store's own watch (no polling) ---------------------------
const vsDone = new Set<string>();
const vscReady = new Set<string>();
let onProgress = () => {};
store.watch(vsType, VS_API, {}, ({ type, object }) => {
  const key = `${(object.metadata as JsonObject).namespace}/${(object.metadata as JsonObject).name}`;
  const http = (object.spec as { http?: unknown[] } | undefined)?.http;
  if (type !== 'DELETED' && http?.length === ROUTES) vsDone.add(key);
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
const converged = () => vsDone.size === HOSTS && vscReady.size === HOSTS * FORKS;
function until(condition: () => boolean, timeoutMs = 600_000): Promise<void> {
  if (condition()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('benchmark: timed out')), timeoutMs);
    onProgress = () => {
      if (!condition()) return;
      clearTimeout(timer);
      onProgress = () => {};
      resolve();
    };
  });
}

// --- the controller process ---------------------------------------------------------------------
const home = await mkdtemp(join(tmpdir(), 'kubefork-bench-'));
const kubeconfig = join(home, 'kubeconfig');
await writeFile(kubeconfig, server.kubeConfigYaml());

interface Controller {
  child: ChildProcess;
  port: Promise<number>;
}

function startController(): Controller {
  const child = spawn(
    process.execPath,
    [
      bin,
      'run',
      '--metrics-port',
      '0',
      '--resync',
      String(RESYNC_SECONDS),
      '--workers',
      String(WORKERS),
    ],
    {
      env: { PATH: process.env.PATH ?? '', HOME: home, KUBECONFIG: kubeconfig },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  const port = new Promise<number>((resolve, reject) => {
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const match = /"metricsPort":(\d+)/.exec(stderr);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) =>
      reject(new Error(`controller exited (${code}):\n${stderr.slice(-2000)}`)),
    );
  });
  return { child, port };
}

async function scrape(controller: Controller, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${await controller.port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] === name) sum += Number(match[3]);
  }
  return sum;
}

/**
 * Resolves once the controller has reconciled `count` more hosts than `from` and its queue is
 * empty; returns how long that took from the first of them (sampled every 50 ms).
 */
async function reconciled(controller: Controller, from: number, count: number): Promise<number> {
  let first: number | undefined;
  for (;;) {
    const done = await scrape(controller, 'kubefork_reconcile_total');
    if (done > from) first ??= performance.now();
    const depth = await scrape(controller, 'kubefork_queue_depth');
    if (done >= from + count && depth === 0)
      return performance.now() - (first ?? performance.now());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stop(controller: Controller): Promise<number> {
  const started = performance.now();
  controller.child.kill('SIGTERM');
  await once(controller.child, 'exit');
  return performance.now() - started;
}

const writes = (from: number) => server.writes().slice(from);
const countBy = (records: RequestRecord[], plural: string) =>
  records.filter((r) => r.plural === plural).length;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const fmt = (n: number) => n.toLocaleString('en-US');

// 1. start → converged
const writesBefore = server.writes().length;
const started = performance.now();
const first = startController();
await first.port;
const listening = performance.now() - started;
await until(converged);
const convergeMs = performance.now() - started;
const initial = writes(writesBefore);
const rss = await scrape(first, 'process_resident_memory_bytes');
const cpuAtConvergence = await scrape(first, 'process_cpu_seconds_total');
const heapUsed = await scrape(first, 'nodejs_heap_size_used_bytes');

// 2. one full resync with nothing to do
const resyncFrom = server.writes().length;
const reconcilesAtConvergence = await scrape(first, 'kubefork_reconcile_total');
const resyncMs = await reconciled(first, reconcilesAtConvergence, HOSTS);
const resyncWrites = writes(resyncFrom).length;

// 3. one VSConfig changed → its VirtualService updated
const latencies: number[] = [];
const changeFrom = server.writes().length;
for (let i = 0; i < CHANGE_SAMPLES; i += 1) {
  const { namespace, host } = hosts[Math.floor(((i + 0.5) * HOSTS) / CHANGE_SAMPLES)]!;
  const value = `changed${i}`;
  const applied = new Promise<number>((resolve) => {
    const unsubscribe = store.watch(
      vsType,
      VS_API,
      { namespace, fieldSelector: `metadata.name=${host}` },
      ({ object }) => {
        const routes = (object.spec as { http?: { name?: string }[] }).http ?? [];
        if (routes.some((route) => route.name === `kubefork-${value}`)) {
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
    `${host}-dev0`,
    { spec: { headerValue: value } },
    {
      manager: 'kubectl',
      contentType: 'application/merge-patch+json',
    },
  );
  latencies.push((await applied) - changedAt);
  await new Promise((resolve) => setTimeout(resolve, 200));
}
const changeWrites = writes(changeFrom);
const stopMs = await stop(first);

// 4. restart with everything converged
const restartFrom = server.writes().length;
const restarted = performance.now();
const second = startController();
await reconciled(second, 0, HOSTS);
const restartMs = performance.now() - restarted;
const restartWrites = writes(restartFrom).length;
await stop(second);

await server.close();
await rm(home, { recursive: true, force: true });

// --- report -------------------------------------------------------------------------------------
const minimumWrites = HOSTS + HOSTS * FORKS;
const rows: [string, string, string][] = [
  [
    `start → converged (${fmt(HOSTS * FORKS)} VSConfigs, ${fmt(HOSTS)} hosts, ${WORKERS} workers)`,
    seconds(convergeMs),
    `process up and listening after ${seconds(listening)}`,
  ],
  [
    '  API writes',
    fmt(initial.length),
    `${fmt(countBy(initial, 'virtualservices'))} VirtualService applies + ${fmt(countBy(initial, 'vsconfigs'))} status patches + ${fmt(countBy(initial, 'events'))} events; × minimum: ${(initial.length / minimumWrites).toFixed(2)}`,
  ],
  [
    '  controller CPU and RSS at convergence',
    `${cpuAtConvergence.toFixed(2)} s CPU`,
    `${Math.round(rss / 1024 / 1024)} MiB RSS, ${Math.round(heapUsed / 1024 / 1024)} MiB heap used`,
  ],
  [
    `no-op resync (${fmt(HOSTS)} hosts reconciled)`,
    `${fmt(resyncWrites)} writes`,
    `the pass took ${resyncMs < 50 ? '< 50 ms' : `${resyncMs.toFixed(0)} ms`} (sampled every 50 ms; timer every ${RESYNC_SECONDS} s)`,
  ],
  [
    'one VSConfig changed → VirtualService updated',
    `${median(latencies).toFixed(1)} ms median`,
    `min ${Math.min(...latencies).toFixed(1)} / max ${Math.max(...latencies).toFixed(1)} ms over ${CHANGE_SAMPLES} changes; ${(changeWrites.length / CHANGE_SAMPLES).toFixed(1)} writes per change`,
  ],
  ['graceful stop (SIGTERM → exit)', `${stopMs.toFixed(0)} ms`, ''],
  [
    'restart, everything converged',
    `${fmt(restartWrites)} writes`,
    `first full pass ${seconds(restartMs)} from spawn`,
  ],
];
console.log(
  '### kubefork controller: fake API server, real client-node, controller as its own process\n',
);
console.log('| measure | value | detail |');
console.log('|---|---:|---|');
for (const [measure, value, detail] of rows) console.log(`| ${measure} | ${value} | ${detail} |`);
console.log(
  `\nNode ${process.versions.node}, ${fmt(HOSTS * FORKS)} VSConfigs, ${ROUTES} routes per VirtualService.`,
);

if (resyncWrites !== 0 || restartWrites !== 0) {
  console.error('benchmark: a no-op pass wrote to the API server');
  process.exitCode = 1;
}
