// Running the built `kubefork` bin as a developer would: a child process with KUBECONFIG pointing
// at a kubeconfig of one test user.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** packages/cli/dist/bin.js (built by `npx tsc -b`). */
export const KUBEFORK_BIN = fileURLToPath(
  new URL('../../../../packages/cli/dist/bin.js', import.meta.url),
);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `kubefork ...args`; resolves with the exit code and both streams (never rejects on exit ≠ 0). */
export function kubefork(
  args: string[],
  env: Record<string, string | undefined>,
  timeoutMs = 120_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [KUBEFORK_BIN, ...args],
      {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
        timeout: timeoutMs,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (error as { code?: unknown }).code : 0;
        if (typeof code !== 'number') {
          reject(new Error(`kubefork ${args.join(' ')}: ${error?.message}\n${stderr}`));
          return;
        }
        resolve({ code, stdout, stderr });
      },
    );
  });
}
