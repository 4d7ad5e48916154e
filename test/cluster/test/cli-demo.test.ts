// `pnpm demo:cluster` end to end: the built demo (examples/cluster-demo) starts its own control
// plane, runs the controller and the real `kubefork` bin, and must exit 0 having shown each step.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const DEMO = fileURLToPath(new URL('../../../examples/cluster-demo/dist/demo.js', import.meta.url));

it('runs the cluster demo to the end with exit code 0', async () => {
  const { code, stdout, stderr } = await new Promise<{
    code: number;
    stdout: string;
    stderr: string;
  }>((resolve) => {
    execFile(process.execPath, [DEMO], { timeout: 280_000 }, (error, out, err) => {
      const exit = error ? (error as { code?: unknown }).code : 0;
      resolve({ code: typeof exit === 'number' ? exit : -1, stdout: out, stderr: err });
    });
  });
  expect(code, `${stdout}\n${stderr}`).toBe(0);
  expect(stdout).toContain('$ kubefork fork b e --id alice --image b=kubefork-fork-mesh:alice');
  expect(stdout).toMatch(/deployment b-alice +image kubefork-fork-mesh:alice/);
  expect(stdout).toMatch(/vsconfig +b-alice +x-fork-identifier: alice → host b goes to b-alice/);
  expect(stdout).toMatch(/kubefork-alice: x-fork-identifier ~ fork id +→ b-alice\./);
  expect(stdout).toMatch(
    /virtualservice fork-mesh\/kubefork-preview-alice +hosts alice\.preview\.shop\.example/,
  );
  expect(stdout).toContain('none running: no kubelet');
  expect(stdout).toContain('$ kubefork rm alice');
  expect(stdout).toContain('Everything alice made is gone');
  // After `kubefork rm alice`, nothing of alice's is listed any more.
  const after = stdout.slice(stdout.indexOf('$ kubefork rm alice'));
  expect(after.split('\n').filter((line) => /-alice\b|kubefork-preview-alice/.test(line))).toEqual(
    [],
  );
}, 300_000);
