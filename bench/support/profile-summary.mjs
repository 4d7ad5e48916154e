// Summarises a V8 .cpuprofile (from BENCH_PROFILE=a|b): self time by package and the hottest
// functions, optionally only those whose file matches a pattern.
//
//   node support/profile-summary.mjs .profiles/http-kubefork-r1-a.cpuprofile [pattern] [top]

import { readFileSync } from 'node:fs';

const [file, pattern, top = '25'] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile-summary.mjs <file.cpuprofile> [url pattern] [top N]');
  process.exit(1);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfMicros = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}

function packageOf(url) {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const match = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules)/);
  if (match) return match[1];
  const pkg = url.match(/\/packages\/([^/]+)\//);
  if (pkg) return `@kubefork/${pkg[1]}`;
  return url
    .replace(/^file:\/\//, '')
    .split('/')
    .slice(-2)
    .join('/');
}

// Percentages are of busy time: idle samples are left out.
let idle = 0;
for (const [id, micros] of selfMicros) {
  if (byId.get(id).callFrame.functionName === '(idle)') {
    idle += micros;
    selfMicros.delete(id);
  }
}
const total = [...selfMicros.values()].reduce((a, b) => a + b, 0);
const packages = new Map();
const functions = new Map();
for (const [id, micros] of selfMicros) {
  const { callFrame } = byId.get(id);
  const pkg = packageOf(callFrame.url);
  packages.set(pkg, (packages.get(pkg) ?? 0) + micros);
  if (pattern && !callFrame.url.includes(pattern)) continue;
  const key = `${callFrame.functionName || '(anonymous)'} ${pkg}:${callFrame.lineNumber + 1}`;
  functions.set(key, (functions.get(key) ?? 0) + micros);
}
const pct = (micros) => `${((100 * micros) / total).toFixed(2).padStart(6)} %`;
console.log(
  `busy ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms\n\nby package (% of busy):`,
);
for (const [pkg, micros] of [...packages].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(`${pct(micros)}  ${pkg}`);
}
console.log(`\nhottest functions${pattern ? ` in ${pattern}` : ''}:`);
for (const [name, micros] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(`${pct(micros)}  ${name}`);
}
