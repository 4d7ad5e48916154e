// Control-plane processes: each in its own process group (so a stop reaches anything it forks),
// its output in a log file under the cluster's directory (the first thing to read when a test
// fails), and registered with the reaper so that no process outlives the test run.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export class Reaper {
  readonly #child: ChildProcess;

  constructor() {
    // Through dist/ from either folder: vitest runs this file from src/, node from dist/.
    const script = fileURLToPath(new URL('../dist/reaper.js', import.meta.url));
    this.#child = spawn(process.execPath, [script], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    this.#child.unref();
    // A reaper that died (it never should) must not take the test process with it.
    this.#child.stdin?.on('error', () => {});
    // The pipe must not keep the test process alive either.
    (this.#child.stdin as unknown as { unref?: () => void }).unref?.();
  }

  watch(group: number): void {
    this.#child.stdin?.write(`add ${group}\n`);
  }

  forget(group: number): void {
    this.#child.stdin?.write(`forget ${group}\n`);
  }

  /** Ends the reaper; it kills whatever it still watches. */
  close(): void {
    this.#child.stdin?.end();
  }
}

export class ControlPlaneProcess {
  readonly name: string;
  readonly logFile: string;
  #child: ChildProcess;
  #exited: Promise<number | null>;

  private constructor(name: string, logFile: string, child: ChildProcess) {
    this.name = name;
    this.logFile = logFile;
    this.#child = child;
    this.#exited = once(child, 'exit').then(([code]) => code as number | null);
  }

  static start(
    name: string,
    command: string,
    args: string[],
    options: { dir: string; reaper: Reaper; env?: NodeJS.ProcessEnv },
  ): ControlPlaneProcess {
    const logFile = join(options.dir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    try {
      const child = spawn(command, args, {
        cwd: options.dir,
        detached: true,
        stdio: ['ignore', fd, fd],
        env: options.env ?? process.env,
      });
      child.unref();
      if (child.pid !== undefined) options.reaper.watch(child.pid);
      return new ControlPlaneProcess(name, logFile, child);
    } finally {
      closeSync(fd);
    }
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Resolves with the exit code once the process has ended (null after a signal). */
  exited(): Promise<number | null> {
    return this.#exited;
  }

  /** The last lines of the process's log, for error messages. */
  tail(lines = 25): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves when it has exited. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running || this.#child.pid === undefined) return;
    const group = this.#child.pid;
    signalGroup(group, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(group, 'SIGKILL'), graceMs);
    try {
      await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL at once, as a crash would. */
  async kill(): Promise<void> {
    if (!this.running || this.#child.pid === undefined) return;
    signalGroup(this.#child.pid, 'SIGKILL');
    await this.#exited;
  }
}

function signalGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch {
    // Already gone.
  }
}
