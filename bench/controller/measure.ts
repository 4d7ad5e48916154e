// The controller scenario, the same against any API server: the built CLI (`kubefork-controller
// run`) in its own process, as in a cluster.
//   1. start → converged: every host has its VirtualService, every VSConfig is Ready at its
//      generation; API writes against the minimum (1 apply per host + 1 status per VSConfig);
//      controller CPU and RSS from its own /metrics;
//   2. the first periodic resync after convergence, nothing changed → API writes (expected 0);
//   3. one VSConfig changed → time until its host's VirtualService has the new route;
//   4. graceful stop, then a restart with everything converged → API writes (expected 0).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControllerBackend, WriteRecord } from './backend.js';
import { type ControllerBenchOptions, hostsOf } from './options.js';

const bin = fileURLToPath(new URL('../../packages/controller/dist/bin.js', import.meta.url));

export interface WriteCounts {
  total: number;
  virtualServices: number;
  statuses: number;
  events: number;
  /** Writes the API server refused (non-2xx). */
  failed: number;
}

export interface ControllerFigures {
  backend: string;
  options: ControllerBenchOptions;
  seedMs: number;
  listeningMs: number;
  convergeMs: number;
  initialWrites: WriteCounts;
  minimumWrites: number;
  cpuSeconds: number;
  rssBytes: number;
  heapUsedBytes: number;
  serverCpuLabel: string;
  /** The API server side's CPU from controller start to convergence. */
  serverCpuSeconds: number;
  resyncWrites: number;
  resyncMs: number;
  latencies: number[];
  changeWrites: number;
  stopMs: number;
  restartWrites: number;
  restartMs: number;
}

interface ControllerProcess {
  child: ChildProcess;
  port: Promise<number>;
}

function countWrites(records: readonly WriteRecord[]): WriteCounts {
  const of = (plural: string) => records.filter((r) => r.plural === plural).length;
  return {
    total: records.length,
    virtualServices: of('virtualservices'),
    statuses: of('vsconfigs'),
    events: of('events'),
    // 0: not answered yet (convergence can be seen through a watch before the last answer).
    failed: records.filter((r) => r.status >= 300).length,
  };
}

export async function measureController(
  backend: ControllerBackend,
  options: ControllerBenchOptions,
): Promise<ControllerFigures> {
  const hosts = hostsOf(options);
  const home = await mkdtemp(join(tmpdir(), 'kubefork-bench-controller-'));
  const running = new Set<ControllerProcess>();

  function startController(): ControllerProcess {
    const child = spawn(
      process.execPath,
      [
        bin,
        'run',
        '--metrics-port',
        '0',
        '--resync',
        String(options.resyncSeconds),
        '--workers',
        String(options.workers),
      ],
      {
        env: { PATH: process.env.PATH ?? '', HOME: home, KUBECONFIG: backend.kubeconfig },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    const port = new Promise<number>((resolve, reject) => {
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        // Keep only the tail: at 10,000 VSConfigs a chatty log would grow without bound.
        stderr = (stderr + chunk).slice(-20_000);
        const match = /"metricsPort":(\d+)/.exec(stderr);
        if (match) resolve(Number(match[1]));
      });
      child.once('exit', (code) =>
        reject(new Error(`controller exited (${code}):\n${stderr.slice(-2000)}`)),
      );
    });
    // A controller that dies later must not leave an unhandled rejection behind.
    port.catch(() => {});
    const controller = { child, port };
    running.add(controller);
    child.once('exit', () => running.delete(controller));
    return controller;
  }

  async function scrape(controller: ControllerProcess, name: string): Promise<number> {
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
  async function reconciled(controller: ControllerProcess, from: number, count: number) {
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

  /**
   * Waits until the reconcile count has not moved for `quietMs` with an empty queue: the echoes of
   * the controller's own writes (watch events of its status patches) re-enqueue hosts after
   * convergence, and must not be mistaken for the resync pass.
   */
  async function quiet(controller: ControllerProcess, quietMs = 1000): Promise<number> {
    let last = -1;
    let since = performance.now();
    for (;;) {
      const done = await scrape(controller, 'kubefork_reconcile_total');
      const depth = await scrape(controller, 'kubefork_queue_depth');
      if (done !== last || depth !== 0) {
        last = done;
        since = performance.now();
      } else if (performance.now() - since >= quietMs) return done;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function stop(controller: ControllerProcess): Promise<number> {
    const started = performance.now();
    controller.child.kill('SIGTERM');
    await once(controller.child, 'exit');
    return performance.now() - started;
  }

  const writesSince = (from: number) => backend.writes().slice(from);

  try {
    // 1. start → converged
    const writesBefore = backend.writes().length;
    const serverCpuBefore = backend.serverCpuSeconds();
    const started = performance.now();
    const first = startController();
    await first.port;
    const listeningMs = performance.now() - started;
    await backend.converged();
    const convergeMs = performance.now() - started;
    const serverCpuSeconds = backend.serverCpuSeconds() - serverCpuBefore;
    const initial = countWrites(writesSince(writesBefore));
    const rssBytes = await scrape(first, 'process_resident_memory_bytes');
    const cpuSeconds = await scrape(first, 'process_cpu_seconds_total');
    const heapUsedBytes = await scrape(first, 'nodejs_heap_size_used_bytes');

    // 2. the next full resync, with nothing to do
    const settled = await quiet(first);
    const resyncFrom = backend.writes().length;
    const resyncMs = await reconciled(first, settled, options.hosts);
    const resyncWrites = writesSince(resyncFrom).length;

    // 3. one VSConfig changed → its VirtualService updated, one host at a time
    const latencies: number[] = [];
    const changeFrom = backend.writes().length;
    for (let i = 0; i < options.changeSamples; i += 1) {
      const index = Math.floor(((i + 0.5) * options.hosts) / options.changeSamples);
      const { namespace, host } = hosts[index]!;
      latencies.push(await backend.change(namespace, `${host}-dev0`, host, `changed${i}`));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const changeWrites = writesSince(changeFrom).length;
    const stopMs = await stop(first);

    // 4. restart with everything converged
    const restartFrom = backend.writes().length;
    const restarted = performance.now();
    const second = startController();
    await reconciled(second, 0, options.hosts);
    const restartMs = performance.now() - restarted;
    const restartWrites = writesSince(restartFrom).length;
    await stop(second);

    return {
      backend: backend.name,
      options,
      seedMs: backend.seedMs,
      listeningMs,
      convergeMs,
      initialWrites: initial,
      minimumWrites: options.hosts + options.hosts * options.forks,
      cpuSeconds,
      rssBytes,
      heapUsedBytes,
      serverCpuLabel: backend.cpuLabel,
      serverCpuSeconds,
      resyncWrites,
      resyncMs,
      latencies,
      changeWrites,
      stopMs,
      restartWrites,
      restartMs,
    };
  } finally {
    for (const controller of running) controller.child.kill('SIGKILL');
    await rm(home, { recursive: true, force: true });
  }
}
