// The controller benchmark's tables: one per API server (the shape controller.bench.ts has always
// printed), and the side by side of two runs of the same process with real ÷ fake.
import { median } from '../support/table.js';
import type { ControllerFigures } from './measure.js';
import { routesPerHost } from './options.js';

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const fmt = (n: number) => n.toLocaleString('en-US');
const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;

export function controllerTable(title: string, f: ControllerFigures): string {
  const { options: o, initialWrites: w } = f;
  const rows: [string, string, string][] = [
    [
      `start → converged (${fmt(o.hosts * o.forks)} VSConfigs, ${fmt(o.hosts)} hosts, ${o.workers} workers)`,
      seconds(f.convergeMs),
      `process up and listening after ${seconds(f.listeningMs)}; seeding took ${seconds(f.seedMs)} before (not counted)`,
    ],
    [
      '  API writes',
      fmt(w.total),
      `${fmt(w.virtualServices)} VirtualService applies + ${fmt(w.statuses)} status patches + ${fmt(w.events)} events${w.failed ? `, ${fmt(w.failed)} refused` : ''}; × minimum: ${(w.total / f.minimumWrites).toFixed(2)}`,
    ],
    [
      '  controller CPU and RSS at convergence',
      `${f.cpuSeconds.toFixed(2)} s CPU`,
      `${mib(f.rssBytes)} RSS, ${mib(f.heapUsedBytes)} heap used; ${f.serverCpuLabel}: ${f.serverCpuSeconds.toFixed(2)} s CPU meanwhile`,
    ],
    [
      `no-op resync (${fmt(o.hosts)} hosts reconciled)`,
      `${fmt(f.resyncWrites)} writes`,
      `the pass took ${f.resyncMs < 50 ? '< 50 ms' : `${f.resyncMs.toFixed(0)} ms`} (sampled every 50 ms; timer every ${o.resyncSeconds} s)`,
    ],
    [
      'one VSConfig changed → VirtualService updated',
      `${median(f.latencies).toFixed(1)} ms median`,
      `min ${Math.min(...f.latencies).toFixed(1)} / max ${Math.max(...f.latencies).toFixed(1)} ms over ${f.latencies.length} changes; ${(f.changeWrites / f.latencies.length).toFixed(1)} writes per change`,
    ],
    ['graceful stop (SIGTERM → exit)', `${f.stopMs.toFixed(0)} ms`, ''],
    [
      'restart, everything converged',
      `${fmt(f.restartWrites)} writes`,
      `first full pass ${seconds(f.restartMs)} from spawn`,
    ],
  ];
  const lines = [`### ${title}`, '', '| measure | value | detail |', '|---|---:|---|'];
  for (const [measure, value, detail] of rows) lines.push(`| ${measure} | ${value} | ${detail} |`);
  lines.push(
    '',
    `Node ${process.versions.node}, ${fmt(o.hosts * o.forks)} VSConfigs, ${routesPerHost(o)} routes per VirtualService.`,
  );
  return lines.join('\n');
}

/** Both runs of one process, the real server's figure divided by the fake's. */
export function sideBySideTable(fake: ControllerFigures, real: ControllerFigures): string {
  const ratio = (a: number, b: number) =>
    b > 0 ? `× ${(a / b).toFixed(1)}` : a > 0 ? '–' : '×  1';
  const row = (measure: string, f: number, r: number, show: (n: number) => string) =>
    `| ${measure} | ${show(f)} | ${show(r)} | ${f === r ? '= ' : ratio(r, f)} |`;
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  const lines = [
    `### side by side: ${real.backend} ÷ ${fake.backend}, same process, same scale`,
    '',
    `| measure | ${fake.backend} | ${real.backend} | real ÷ fake |`,
    '|---|---:|---:|---:|',
    row('seeding (not the controller)', fake.seedMs, real.seedMs, seconds),
    row('start → converged', fake.convergeMs, real.convergeMs, seconds),
    row('  API writes', fake.initialWrites.total, real.initialWrites.total, fmt),
    row(
      '  controller CPU at convergence',
      fake.cpuSeconds,
      real.cpuSeconds,
      (n) => `${n.toFixed(2)} s`,
    ),
    row('  controller RSS at convergence', fake.rssBytes, real.rssBytes, mib),
    row(
      '  API server side CPU meanwhile',
      fake.serverCpuSeconds,
      real.serverCpuSeconds,
      (n) => `${n.toFixed(2)} s`,
    ),
    row('no-op resync writes', fake.resyncWrites, real.resyncWrites, fmt),
    // Sampled every 50 ms: below that, only "< 50 ms" is known (and no ratio).
    fake.resyncMs < 50 && real.resyncMs < 50
      ? '| no-op resync pass | < 50 ms | < 50 ms | |'
      : row('no-op resync pass', fake.resyncMs, real.resyncMs, (n) => `${n.toFixed(0)} ms`),
    row(
      'one change → VirtualService updated (median)',
      median(fake.latencies),
      median(real.latencies),
      ms,
    ),
    row('graceful stop', fake.stopMs, real.stopMs, (n) => `${n.toFixed(0)} ms`),
    row('restart writes', fake.restartWrites, real.restartWrites, fmt),
    row('restart: first full pass', fake.restartMs, real.restartMs, seconds),
    '',
    `API server side CPU: ${fake.backend}: ${fake.serverCpuLabel}; ${real.backend}: ${real.serverCpuLabel}.`,
  ];
  return lines.join('\n');
}

/** A no-op pass that wrote is a bug, not a figure: the benchmark exits non-zero. */
export function noOpFailures(f: ControllerFigures): string[] {
  const failures: string[] = [];
  if (f.resyncWrites !== 0)
    failures.push(`${f.backend}: the no-op resync wrote ${f.resyncWrites} times`);
  if (f.restartWrites !== 0)
    failures.push(`${f.backend}: the restart wrote ${f.restartWrites} times`);
  if (f.initialWrites.failed !== 0)
    failures.push(
      `${f.backend}: the API server refused ${f.initialWrites.failed} writes while converging`,
    );
  return failures;
}
