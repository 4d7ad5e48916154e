// Cold import of the controller's planner: `@kubefork/controller/plan` (planHost, matchRoute,
// render; loads re2js, and yaml only on first use) against the main entry `@kubefork/controller`
// (the running controller: client-node, prom-client, OpenTelemetry). What a CLI, a CI check or an
// admission webhook that only plans pays at start-up. Goal: /plan ≤ 0.25 s.
//
// Each sample is a fresh Node process (the one running this file, so `--node` applies) that
// imports one entry and reports how long `await import()` took; the process time is spawn to exit
// as seen from here. The entries alternate, /plan first, after one unrecorded warm-up each (so the
// OS file cache is warm for both: cold means a fresh process, not a cold disk). The package
// resolves its own name (package self-reference, the `exports` map), as a dependant's would.
//
//   pnpm bench controller-import              # from the repository root (builds first)
//   node --import tsx controller-import.bench.ts   # from bench/, after `pnpm build`
//
// BENCH_ROUNDS (default 9; BENCH_QUICK=1: 2) samples per entry.

import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './support/table.js';

const QUICK = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 2 : 9));
const TARGET_MS = 250;
const controller = join(dirname(fileURLToPath(import.meta.url)), '..', 'packages', 'controller');

const ENTRIES = [
  { name: '@kubefork/controller/plan', target: TARGET_MS },
  { name: '@kubefork/controller', target: undefined },
] as const;

interface Sample {
  /** `await import(entry)` inside the fresh process. */
  importMs: number;
  /** Spawn to exit, seen from this process: Node's own start-up plus the import. */
  processMs: number;
}

function importOnce(entry: string): Promise<Sample> {
  // `planHost` must be there: a broken entry fails the benchmark instead of measuring nothing.
  const script = `const started = performance.now();
const loaded = await import(${JSON.stringify(entry)});
const importMs = performance.now() - started;
if (typeof loaded.planHost !== 'function') throw new Error('no planHost in ${entry}');
process.stdout.write(JSON.stringify({ importMs }));`;
  const spawned = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: controller,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`importing ${entry} exited with ${code}`));
      const { importMs } = JSON.parse(output) as { importMs: number };
      resolve({ importMs, processMs: performance.now() - spawned });
    });
  });
}

const samples = new Map<string, Sample[]>(ENTRIES.map(({ name }) => [name, []]));
for (const { name } of ENTRIES) await importOnce(name); // warm-up: file cache, not measured
for (let round = 0; round < ROUNDS; round++) {
  for (const { name } of ENTRIES) samples.get(name)?.push(await importOnce(name));
}

const ms = (value: number) => value.toFixed(0);
const figures = ENTRIES.map(({ name, target }) => {
  const taken = samples.get(name) ?? [];
  const imports = taken.map((sample) => sample.importMs);
  return {
    name,
    target,
    importMs: median(imports),
    range: `${ms(Math.min(...imports))}–${ms(Math.max(...imports))}`,
    processMs: median(taken.map((sample) => sample.processMs)),
  };
});
const [plan, main] = figures as [(typeof figures)[0], (typeof figures)[0]];
const lines = [
  `#### Cold import of the controller: fresh process per sample, ${ROUNDS} rounds, median`,
  '',
  '| entry | import ms | min–max | process ms | × /plan | target | met |',
  '|---|---:|---:|---:|---:|---:|:---:|',
  ...figures.map(
    (row) =>
      `| \`${row.name}\` | ${ms(row.importMs)} | ${row.range} | ${ms(row.processMs)} | ${(row.importMs / plan.importMs).toFixed(1)} | ${row.target === undefined ? '' : `≤ ${row.target}`} | ${row.target === undefined ? '' : row.importMs <= row.target ? 'yes' : 'NO'} |`,
  ),
  '',
  `The main entry takes ${(main.importMs / plan.importMs).toFixed(1)}× as long to import as /plan (${ms(main.importMs)} vs ${ms(plan.importMs)} ms).`,
];
console.log(lines.join('\n'));
