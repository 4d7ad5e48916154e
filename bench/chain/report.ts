// Markdown for one chain: absolute figures, per-round ratios, and the targets.

import { cpus } from 'node:os';
import { median } from '../support/table.js';
import type { ChainOptions } from './options.js';
import {
  type ChainSpec,
  type RunResult,
  type ServiceWindow,
  variantsToRun,
} from './orchestrate.js';
import type { LoadResult, VariantName } from './protocol.js';
import { describeOtelLine } from './variants/otel-line.js';

/** Heap growth over a window that still counts as flat: GC noise, not per-request retention. */
const HEAP_SLACK_BYTES = 512 * 1024;
const HEAP_BYTES_PER_REQUEST = 1;

const fixed = (value: number, digits: number) =>
  Number.isFinite(value) ? value.toFixed(digits) : '–';
const micros = (value: number) => fixed(value, value >= 100 ? 0 : 1);
const percent = (part: number, whole: number) =>
  whole === 0 ? '–' : `${fixed((100 * part) / whole, part === whole ? 0 : 1)} %`;

function spread(values: readonly number[], digits = 3): string {
  if (values.length === 0) return '–';
  const med = fixed(median(values), digits);
  if (values.length === 1) return med;
  return `${med} (${fixed(Math.min(...values), 2)}–${fixed(Math.max(...values), 2)})`;
}

function byVariant(runs: readonly RunResult[], variant: VariantName): RunResult[] {
  return runs.filter((run) => run.variant === variant);
}

/** One ratio per round: `variant`'s metric ÷ `baseline`'s metric in the same round. */
export function roundRatios(
  runs: readonly RunResult[],
  variant: VariantName,
  baseline: VariantName,
  metric: (run: RunResult) => number,
): number[] {
  const ratios: number[] = [];
  for (const run of byVariant(runs, variant)) {
    const base = runs.find((other) => other.variant === baseline && other.round === run.round);
    if (base) ratios.push(metric(run) / metric(base));
  }
  return ratios;
}

const rps = (run: RunResult) => run.requestsPerSecond;
const cpuA = (run: RunResult) => run.a.cpuPerRequest;

function forkAtB(runs: readonly RunResult[]): string {
  let requests = 0;
  let header = 0;
  let baggage = 0;
  for (const run of runs) {
    requests += run.b.totals.requests;
    header += run.b.totals.header;
    baggage += run.b.totals.baggage;
  }
  const parts: string[] = [];
  if (header > 0) parts.push(`header ${percent(header, requests)}`);
  if (baggage > 0) parts.push(`baggage ${percent(baggage, requests)}`);
  return parts.length ? parts.join(', ') : 'none';
}

function heapIsFlat(service: ServiceWindow): boolean {
  return service.heapDelta <= HEAP_SLACK_BYTES + HEAP_BYTES_PER_REQUEST * service.requests;
}

export interface ChainReport {
  markdown: string;
  /** Invalid runs: a variant that did not propagate as it must, failed requests. */
  failures: string[];
}

export function reportChain(
  spec: ChainSpec,
  options: ChainOptions,
  runs: readonly RunResult[],
  ceiling?: LoadResult,
): ChainReport {
  const variants = variantsToRun(spec, options);
  const has = (variant: VariantName) => variants.includes(variant);
  const lines = [
    `#### ${spec.title}`,
    '',
    `Node ${process.versions.node}, ${cpus().length} cores; ${options.rounds} interleaved round(s) of ` +
      `${variants.join(', ')}; ${options.connections} keep-alive connections; ` +
      `${options.warmupMs / 1000} s warm-up + ${options.windowMs / 1000} s window per run; ` +
      'medians over rounds.',
    ...(has('otel') ? ['', `otel: ${describeOtelLine()}.`] : []),
    '',
    '| variant | req/s | p50 ms | p99 ms | A CPU µs/req | B CPU µs/req | load CPU µs/req | load CPU % | A heap Δ KB | fork reached B | valid |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|:---:|',
  ];
  const failures: string[] = [];
  for (const variant of variants) {
    const own = byVariant(runs, variant);
    const med = (metric: (run: RunResult) => number) => median(own.map(metric));
    const problems = own.flatMap((run) => run.problems.map((p) => `round ${run.round}: ${p}`));
    for (const problem of problems) failures.push(`${spec.id} ${variant} ${problem}`);
    lines.push(
      `| ${variant} | ${fixed(med(rps), 0)} | ${fixed(
        med((r) => r.load.p50),
        2,
      )} | ` +
        `${fixed(
          med((r) => r.load.p99),
          2,
        )} | ${micros(med(cpuA))} | ` +
        `${micros(med((r) => r.b.cpuPerRequest))} | ` +
        `${micros(med((r) => r.load.cpuMicros / r.load.requests))} | ` +
        `${fixed(100 * med((r) => r.loadUtilization), 0)} | ` +
        `${fixed(med((r) => r.a.heapDelta) / 1024, 0)} | ${forkAtB(own)} | ${problems.length ? 'NO' : 'yes'} |`,
    );
  }

  lines.push(
    '',
    `Ratios per round (median, min–max over ${options.rounds} round(s)). req/s: higher is better; CPU: lower is better.`,
    '',
    '| variant | req/s ÷ bare | req/s ÷ minimum | A CPU/req × bare | A CPU/req × minimum |',
    '|---|---:|---:|---:|---:|',
  );
  for (const variant of variants) {
    const cell = (baseline: VariantName, metric: (run: RunResult) => number) =>
      has(baseline) ? spread(roundRatios(runs, variant, baseline, metric)) : '–';
    lines.push(
      `| ${variant} | ${cell('bare', rps)} | ${cell('minimum', rps)} | ${cell('bare', cpuA)} | ${cell('minimum', cpuA)} |`,
    );
  }

  if (has('kubefork')) lines.push('', ...targets(runs, has));
  if (ceiling) {
    const fastest = Math.max(...runs.map(rps));
    lines.push(
      '',
      `Load generator ceiling (same load generator against a node:http server that answers at once): ` +
        `${fixed(ceiling.requests / (ceiling.windowMs / 1000), 0)} req/s, ` +
        `${fixed((ceiling.requests / (ceiling.windowMs / 1000) / fastest) * 1, 1)}× the fastest chain run ` +
        `(${fixed(fastest, 0)} req/s).`,
    );
  }
  if (failures.length) {
    lines.push('', '**Invalid runs (these figures measure a broken variant):**', '');
    for (const failure of failures) lines.push(`- ${failure}`);
  }
  return { markdown: lines.join('\n'), failures };
}

function verdict(ok: boolean): string {
  return ok ? 'met' : '**NOT met**';
}

function targets(runs: readonly RunResult[], has: (variant: VariantName) => boolean): string[] {
  const med = (variant: VariantName, baseline: VariantName, metric: (run: RunResult) => number) =>
    median(roundRatios(runs, variant, baseline, metric));
  const lines = ['Targets:', ''];
  if (has('minimum')) {
    const throughput = med('kubefork', 'minimum', rps);
    const cpu = med('kubefork', 'minimum', cpuA);
    lines.push(
      `- kubefork ÷ minimum ≥ 0.97: req/s ${fixed(throughput, 3)} → ${verdict(throughput >= 0.97)}; ` +
        `A CPU/req × ${fixed(cpu, 3)} (≤ 1.03) → ${verdict(cpu <= 1.03)}`,
    );
  }
  if (has('bare')) {
    const throughput = med('kubefork', 'bare', rps);
    const cpu = med('kubefork', 'bare', cpuA);
    const major = Number(process.versions.node.split('.')[0]);
    const applies =
      major >= 24 ? '' : ` (the target is set for Node 24; informative on Node ${major})`;
    lines.push(
      `- kubefork ÷ bare ≥ 0.95${applies}: req/s ${fixed(throughput, 3)} → ${verdict(throughput >= 0.95)}; ` +
        `A CPU/req × ${fixed(cpu, 3)} (≤ 1.05) → ${verdict(cpu <= 1 / 0.95)}`,
    );
  }
  if (has('bare') && has('otel')) {
    const ours = 1 - med('kubefork', 'bare', rps);
    const theirs = 1 - med('otel', 'bare', rps);
    const oursCpu = med('kubefork', 'bare', cpuA) - 1;
    const theirsCpu = med('otel', 'bare', cpuA) - 1;
    lines.push(
      `- kubefork overhead ≤ ⅕ of OpenTelemetry's: req/s ${fixed(100 * ours, 1)} % vs ${fixed(100 * theirs, 1)} % ` +
        `→ ${verdict(ours <= theirs / 5)}; A CPU/req +${fixed(100 * oursCpu, 1)} % vs +${fixed(100 * theirsCpu, 1)} % ` +
        `→ ${verdict(oursCpu <= theirsCpu / 5)}`,
    );
  }
  const services = byVariant(runs, 'kubefork').flatMap((run) => [run.a, run.b]);
  const worst = Math.max(...services.map((service) => service.heapDelta));
  const requests = Math.max(...services.map((service) => service.requests));
  lines.push(
    `- heap flat (A and B, every kubefork run; after GC with nothing in flight, code excluded): ` +
      `largest growth ${fixed(worst / 1024, 0)} KB over ≤ ${requests} requests → ` +
      `${verdict(services.every(heapIsFlat))} (flat: ≤ ${HEAP_SLACK_BYTES / 1024} KB + ` +
      `${HEAP_BYTES_PER_REQUEST} B/request)`,
  );
  return lines;
}
