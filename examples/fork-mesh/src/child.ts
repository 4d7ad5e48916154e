// One child process of the mesh, seen from the orchestrator: start, wait for `ready`, send
// requests over IPC, stop. Every child started here is stopped by `stop`, or killed when the
// orchestrator exits.
import { type ChildProcess, fork } from 'node:child_process';
import type { ReadyMessage, ReplyMessage, RequestMessage } from './ipc.js';

export interface ChildOptions {
  /** Environment of the child (the orchestrator's own is not inherited implicitly). */
  env: NodeJS.ProcessEnv;
  /** Node flags, e.g. `--expose-gc`. Default none (not the orchestrator's flags). */
  execArgv?: readonly string[];
  /** How long the child may take to announce `ready`. */
  timeoutMs: number;
}

/** Keep the end of a child's stderr, to explain a child that failed. */
const STDERR_TAIL = 4096;
/** How long a child may take to exit after SIGTERM before it gets SIGKILL. */
const STOP_GRACE_MS = 5000;

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Safety net for a demo or test process that ends without calling `stop` (an uncaught error,
 * `process.exit`): `'exit'` listeners run synchronously, and `kill` is synchronous. The children
 * also exit on their own when the IPC channel closes (see ipc.ts), which covers SIGKILL.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

export class MeshChild {
  readonly name: string;
  readonly #process: ChildProcess;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(e: Error): void }>();
  readonly #exited: Promise<void>;
  #nextId = 1;
  #stderr = '';

  private constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.#process = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-STDERR_TAIL);
    });
    // 'error': the process could not be spawned, killed or sent to; recorded, never thrown.
    child.on('error', (error) => {
      this.#stderr = `${this.#stderr}\n${error.message}`.slice(-STDERR_TAIL);
    });
    child.on('message', (message: ReplyMessage) => {
      const pending = this.#pending.get(message.id);
      if (pending === undefined) return;
      this.#pending.delete(message.id);
      if (message.error === undefined) pending.resolve(message.result);
      else pending.reject(new Error(`${name}: ${message.error}`));
    });
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => {
        running.delete(child);
        for (const pending of this.#pending.values()) {
          pending.reject(new Error(`${name} exited${this.#explain()}`));
        }
        this.#pending.clear();
        resolve();
      });
    });
  }

  /** Starts `module` with Node and resolves once it announced where it listens. */
  static async start(
    name: string,
    module: string,
    options: ChildOptions,
  ): Promise<{ child: MeshChild; ready: ReadyMessage }> {
    installExitHook();
    const spawned = fork(module, [], {
      env: options.env,
      execArgv: [...(options.execArgv ?? [])],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    running.add(spawned);
    const child = new MeshChild(name, spawned);
    try {
      const ready = await child.#waitForReady(options.timeoutMs);
      return { child, ready };
    } catch (error) {
      await child.stop();
      throw error;
    }
  }

  #waitForReady(timeoutMs: number): Promise<ReadyMessage> {
    const child = this.#process;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        settle();
        reject(new Error(`${this.name} did not start within ${timeoutMs} ms${this.#explain()}`));
      }, timeoutMs);
      const onMessage = (message: { kind?: string }) => {
        if (message?.kind !== 'ready') return;
        settle();
        resolve(message as ReadyMessage);
      };
      const onExit = (code: number | null, signal: string | null) => {
        settle();
        reject(
          new Error(
            `${this.name} exited (${signal ?? `code ${code}`}) before it was ready${this.#explain()}`,
          ),
        );
      };
      const settle = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  }

  #explain(): string {
    const tail = this.#stderr.trim();
    return tail === '' ? '' : `; its stderr ends with:\n${tail}`;
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** False once the process has exited, for any reason. */
  get alive(): boolean {
    return this.#process.exitCode === null && this.#process.signalCode === null;
  }

  /** Sends a request over IPC and resolves with the child's answer. */
  request(kind: string, payload?: unknown): Promise<unknown> {
    if (!this.alive || !this.#process.connected) {
      return Promise.reject(new Error(`${this.name} is not running${this.#explain()}`));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const message: RequestMessage = { id, kind, payload };
      this.#process.send(message);
    });
  }

  /** SIGTERM, then SIGKILL if the child has not exited after a grace period. */
  async stop(): Promise<void> {
    if (this.alive) {
      this.#process.kill('SIGTERM');
      const timer = setTimeout(() => this.#process.kill('SIGKILL'), STOP_GRACE_MS);
      await this.#exited;
      clearTimeout(timer);
    }
    await this.#exited;
  }
}
