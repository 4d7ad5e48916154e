import { execFile } from 'node:child_process';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** Resolves with the response once its body has been read; rejects on a request error. */
export function finish(request: ClientRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    request.on('error', reject);
    request.on('response', (response) => {
      response.resume();
      response.on('end', () => resolve(response));
    });
  });
}

const run = promisify(execFile);

/** Runs `node fixtures/<name> ...args` with the Node running the tests; rejects on failure. */
export async function runFixture(name: string, ...args: string[]): Promise<string> {
  const file = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  const { stdout } = await run(process.execPath, [file, ...args], {
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return stdout;
}
