// Whether a process still runs, for the no-orphans tests.
import { readFileSync } from 'node:fs';

/**
 * True while `pid` runs. A zombie (exited, not yet reaped: in a container whose init does not
 * reap, an orphan stays one) counts as gone; so does a pid that no longer exists.
 */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name, which is in parentheses and may contain spaces.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
  }
  try {
    process.kill(pid, 0); // No /proc (macOS): signal 0 only checks that the pid exists.
    return true;
  } catch {
    return false;
  }
}

/** Resolves once none of `pids` runs; rejects after `timeoutMs` naming the ones still there. */
export async function waitUntilGone(pids: readonly number[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const running = pids.filter(isRunning);
    if (running.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`still running after ${timeoutMs} ms: ${running.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
