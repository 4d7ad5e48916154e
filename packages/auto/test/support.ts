import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs `node [...nodeArgs] fixtures/<name> [...args]` with the Node running the tests. */
export async function runFixture(
  nodeArgs: string[],
  name: string,
  ...args: string[]
): Promise<string> {
  const file = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  const { stdout } = await run(process.execPath, [...nodeArgs, file, ...args], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return stdout;
}
