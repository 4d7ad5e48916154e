import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs a fixture of test/fixtures with the Node running the tests; rejects on failure. */
export async function runFixture(name: string, ...args: string[]): Promise<string> {
  const file = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  const { stdout } = await run(process.execPath, [file, ...args], {
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return stdout;
}
