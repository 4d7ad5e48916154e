// The cold-import benchmark in quick mode, the way `pnpm bench controller-import` runs it: it must
// import both entries in fresh processes and print one row each plus the ratio. Never asserts on
// timings (the machine is shared); the import graph itself is tested in
// packages/controller/test/plan-entry.test.ts.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const bench = join(dirname(fileURLToPath(import.meta.url)), '..');

it('prints a row per entry and the ratio measured in the same run', async () => {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'controller-import.bench.ts'],
      { cwd: bench, env: { ...process.env, BENCH_QUICK: '1' } },
      (error, out) => (error ? reject(error) : resolve(out)),
    );
  });
  const row = (entry: string) =>
    new RegExp(`^\\| \`${entry}\` \\| (\\d+) \\| \\d+–\\d+ \\| \\d+ \\| ([\\d.]+) \\|`, 'm');
  const plan = stdout.match(row('@kubefork/controller/plan'));
  const main = stdout.match(row('@kubefork/controller'));
  expect(plan?.[2]).toBe('1.0');
  expect(Number(main?.[1])).toBeGreaterThan(0);
  expect(stdout).toMatch(/The main entry takes [\d.]+× as long to import as \/plan/);
});
