// Runs the chain benchmarks the way `pnpm bench` does, in quick mode, and checks what they
// produce: the tables, the recorded results, and above all that every variant really carried
// (or, for bare, really did not carry) the fork to service B. Never asserts on timings.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../chain/orchestrate.js';
import type { VariantName } from '../chain/protocol.js';

const bench = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHAINS = {
  http: ['bare', 'minimum', 'kubefork', 'otel'],
  fastify: ['bare', 'minimum', 'kubefork', 'otel'],
  grpc: ['bare', 'minimum', 'kubefork'],
} satisfies Record<string, VariantName[]>;
type ChainId = keyof typeof CHAINS;

/** Where the fork must show up at B, per variant: header (or gRPC metadata), baggage member. */
const CARRIERS: Record<VariantName, { header: boolean; baggage: boolean }> = {
  bare: { header: false, baggage: false },
  minimum: { header: true, baggage: false },
  kubefork: { header: true, baggage: true },
  otel: { header: false, baggage: true },
};

const KEPT_SECTION = '<!-- bench 99:earlier.bench.ts -->\n### earlier.bench.ts — kept\n';

let dir: string;
let stdout: string;
let exitCode: number | null;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kubefork-bench-'));
  writeFileSync(join(dir, 'RESULTS.md'), `# Benchmark results\n\n## Node 99\n\n${KEPT_SECTION}`);
  ({ stdout, exitCode } = await new Promise<{ stdout: string; exitCode: number | null }>(
    (resolve) => {
      const child = execFile(
        process.execPath,
        ['run.mjs', ...Object.keys(CHAINS)],
        {
          cwd: bench,
          env: {
            ...process.env,
            BENCH_QUICK: '1',
            BENCH_JSON: dir,
            BENCH_RESULTS: join(dir, 'RESULTS.md'),
          },
          maxBuffer: 16 * 1024 * 1024,
        },
        (_error, out) => resolve({ stdout: out, exitCode: child.exitCode }),
      );
    },
  ));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function runsOf(chain: ChainId): RunResult[] {
  const json = JSON.parse(readFileSync(join(dir, `${chain}.json`), 'utf8')) as {
    runs: RunResult[];
  };
  return json.runs;
}

it('the harness exits 0 in quick mode', () => {
  expect(exitCode).toBe(0);
});

describe.each(Object.keys(CHAINS) as ChainId[])('the %s chain', (chain) => {
  const variants: readonly VariantName[] = CHAINS[chain];

  it('prints a figures table and a ratio table with one row per variant', () => {
    const section = stdout.slice(stdout.indexOf(`### ${chain}.bench.ts`));
    expect(section).toContain('| variant | req/s | p50 ms | p99 ms | A CPU µs/req |');
    expect(section).toContain('| variant | req/s ÷ bare | req/s ÷ minimum |');
    for (const variant of variants) {
      const rows = section.split('\n').filter((line) => line.startsWith(`| ${variant} |`));
      expect(rows.length, variant).toBeGreaterThanOrEqual(2);
    }
  });

  it('measures every variant with completed requests, CPU per request and no errors', () => {
    const runs = runsOf(chain);
    expect(runs.map((run) => run.variant)).toEqual(variants);
    for (const run of runs) {
      expect(run.load.errors, run.variant).toBe(0);
      expect(run.load.requests, run.variant).toBeGreaterThan(0);
      expect(run.a.cpuPerRequest, run.variant).toBeGreaterThan(0);
      expect(run.b.cpuPerRequest, run.variant).toBeGreaterThan(0);
    }
  });

  it("delivers the fork to B exactly through each variant's carriers", () => {
    for (const run of runsOf(chain)) {
      const { requests, header, baggage, context } = run.b.totals;
      const carriers = CARRIERS[run.variant];
      expect(requests, run.variant).toBeGreaterThan(0);
      expect(header, `${run.variant} header`).toBe(carriers.header ? requests : 0);
      expect(baggage, `${run.variant} baggage`).toBe(carriers.baggage ? requests : 0);
      // B's own context API sees the fork on every request, except where nothing propagates.
      expect(context, `${run.variant} context`).toBe(run.variant === 'bare' ? 0 : requests);
    }
  });
});

it('records every benchmark in RESULTS.md with its Node version and keeps older sections', () => {
  const results = readFileSync(join(dir, 'RESULTS.md'), 'utf8');
  const major = process.versions.node.split('.')[0];
  for (const chain of Object.keys(CHAINS)) {
    expect(results).toContain(`<!-- bench ${major}:${chain}.bench.ts -->`);
    expect(results).toContain(`### ${chain}.bench.ts — Node ${process.versions.node},`);
  }
  expect(results).toMatch(/cores/);
  expect(results).toContain(KEPT_SECTION.trim());
});
