// `pnpm demo:queue` end to end: runs the built demo (which starts nats-server, E and F itself)
// and checks its exit code and every row of its table.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const demo = fileURLToPath(new URL('../dist/demo.js', import.meta.url));

function runDemo(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [demo], { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

it('carries each request fork from E through NATS to F, and exits 0', async () => {
  const { code, stdout, stderr } = await runDemo();
  expect(stderr).toBe('');
  const rows = stdout
    .split('\n')
    .filter((line) => /[✓✗]$/.test(line))
    .map((line) => line.split(/ {2,}/));
  expect(rows).toEqual([
    ['no header', '- (baseline)', '-', '- (baseline)', '✓'],
    ['x-fork-identifier: alice', 'alice', 'alice', 'alice', '✓'],
    ['x-fork-identifier: bob', 'bob', 'bob', 'bob', '✓'],
    ['baggage: userId=42,x-fork-identifier=alice', 'alice', 'alice', 'alice', '✓'],
    ['x-fork-identifier: ../alice', '- (baseline)', '-', '- (baseline)', '✓'],
    ['NATS message, x-fork-identifier: ../alice', '(not via E)', '../alice', '- (baseline)', '✓'],
  ]);
  expect(stdout).toContain('All 6 events');
  expect(code).toBe(0);
});
