// `pnpm bench`: runs every benchmark in this folder (`*.bench.ts|mjs`), one process each, prints
// their markdown tables and records them in bench/RESULTS.md.
//
//   pnpm bench                          all benchmarks, on the Node that runs pnpm
//   pnpm bench http grpc                only files whose name contains one of the words
//   pnpm bench --node /path/to/node     on that Node instead (repeat to run on several)
//   BENCH_QUICK=1 pnpm bench            smoke run; writes no RESULTS.md unless BENCH_RESULTS is set
//   BENCH_RESULTS=file                  where to record results (default bench/RESULTS.md)
//
// RESULTS.md keeps one section per (Node major, benchmark file): a run replaces the sections it
// measured and keeps the others, so Node 20 and Node 24 figures can be recorded one after the
// other. Each section says when, on which Node and on how many cores it was measured.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const resultsPath = process.env.BENCH_RESULTS || (quick ? undefined : join(here, 'RESULTS.md'));

const nodes = [];
const only = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  if (arg === '--node') nodes.push(argv[++i]);
  else if (arg.startsWith('--node=')) nodes.push(arg.slice('--node='.length));
  else only.push(arg);
}
if (nodes.length === 0) nodes.push(process.execPath);

const files = readdirSync(here)
  .filter((file) => /\.bench\.(ts|mjs)$/.test(file))
  .filter((file) => only.length === 0 || only.some((name) => file.includes(name)))
  .sort();
if (files.length === 0) {
  console.error(`bench: no benchmark matches ${only.join(', ')}`);
  process.exit(1);
}

function nodeVersion(node) {
  const result = spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`bench: cannot run ${node}: ${result.stderr}`);
  return result.stdout.trim();
}

/** Runs one benchmark, echoing its stdout while keeping a copy. */
function runBench(node, file) {
  return new Promise((resolve) => {
    const child = spawn(node, ['--expose-gc', '--import', 'tsx', file], {
      cwd: here,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.on('close', (code, signal) => resolve({ output, ok: code === 0, code, signal }));
  });
}

const machine = `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${availableParallelism()} cores, ${platform()} ${release()}`;
const sections = new Map();
let failed = 0;
for (const node of nodes) {
  const version = nodeVersion(node);
  for (const file of files) {
    const started = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    // The load average tells a reader how busy the machine was with other work.
    const load = loadavg()[0]?.toFixed(1);
    const heading = `### ${file} — Node ${version}, ${started}, ${machine}, load ${load}${quick ? ' (quick mode)' : ''}`;
    console.log(`\n${heading}\n`);
    const result = await runBench(node, file);
    if (!result.ok) failed++;
    const status = result.ok
      ? ''
      : `\n\n**${file} failed** (exit code ${result.code}${result.signal ? `, signal ${result.signal}` : ''}).`;
    sections.set(
      `${version.split('.')[0]}:${file}`,
      `${heading}\n\n${result.output.trim()}${status}\n`,
    );
  }
}

if (resultsPath !== undefined) {
  writeFileSync(
    resultsPath,
    mergeResults(existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8') : '', sections),
  );
  console.log(`\nResults recorded in ${resultsPath}`);
}
if (failed) console.error(`\nbench: ${failed} benchmark run(s) failed`);
process.exit(failed ? 1 : 0);

/** The previous file's sections, with those measured now replaced, ordered by Node then file. */
function mergeResults(previous, fresh) {
  const all = new Map();
  for (const match of previous.matchAll(
    /<!-- bench (\d+:[^ ]+) -->\n([\s\S]*?)(?=\n+## Node \d+\n|\n<!-- bench |\n*$)/g,
  )) {
    all.set(match[1], `${match[2].trim()}\n`);
  }
  for (const [key, text] of fresh) all.set(key, text);
  const keys = [...all.keys()].sort((a, b) => {
    const [majorA, fileA] = a.split(':');
    const [majorB, fileB] = b.split(':');
    return Number(majorA) - Number(majorB) || fileA.localeCompare(fileB);
  });
  const lines = [
    '# Benchmark results',
    '',
    'Written by `pnpm bench` (bench/run.mjs). Each section names the Node version, the time (UTC),',
    'the machine and its 1-minute load average when the benchmark started (other work on the machine',
    'makes figures noisy); rerun a part with `pnpm bench <name>`, on another Node with',
    '`pnpm bench --node /path/to/node`. How the chains are measured: bench/README.md.',
  ];
  let major;
  for (const key of keys) {
    const [keyMajor] = key.split(':');
    if (keyMajor !== major) {
      major = keyMajor;
      lines.push('', `## Node ${major}`);
    }
    lines.push('', `<!-- bench ${key} -->`, all.get(key).trim());
  }
  return `${lines.join('\n')}\n`;
}
