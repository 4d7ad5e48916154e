// Entry point shared by the chain benchmarks: run, print the report, keep the raw runs.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chainOptions } from './options.js';
import { type ChainSpec, measureLoadCeiling, runChain } from './orchestrate.js';
import type { LoadResult } from './protocol.js';
import { reportChain } from './report.js';

export async function benchChain(spec: ChainSpec, { ceiling = false } = {}): Promise<void> {
  const options = chainOptions();
  const runs = await runChain(spec, options);
  let loadCeiling: LoadResult | undefined;
  if (ceiling && !options.quick) loadCeiling = await measureLoadCeiling(options);
  const report = reportChain(spec, options, runs, loadCeiling);
  console.log(report.markdown);
  if (options.jsonDir !== undefined) {
    mkdirSync(options.jsonDir, { recursive: true });
    const json = {
      chain: spec.id,
      node: process.versions.node,
      options,
      runs,
      ceiling: loadCeiling,
    };
    writeFileSync(join(options.jsonDir, `${spec.id}.json`), `${JSON.stringify(json, null, 2)}\n`);
  }
  // A benchmark that measured a broken variant must not pass for a result.
  if (report.failures.length) process.exitCode = 1;
}
