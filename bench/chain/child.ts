// One child process of a benchmark run (a service or the load generator), spoken to over IPC.

import { type ChildProcess, fork } from 'node:child_process';
import type { FromChild, Snapshot, ToChild } from './protocol.js';

type Message<T extends FromChild['type']> = Extract<FromChild, { type: T }>;

interface Waiter {
  type: FromChild['type'];
  resolve: (message: FromChild) => void;
  reject: (error: Error) => void;
}

const TIMEOUT_MS = 60_000;

export class Child {
  readonly name: string;
  readonly #process: ChildProcess;
  readonly #inbox: FromChild[] = [];
  readonly #waiters: Waiter[] = [];
  #exited: Promise<void>;
  #gone: Error | undefined;

  constructor(name: string, file: string, arg: unknown, execArgv: string[]) {
    this.name = name;
    this.#process = fork(file, [JSON.stringify(arg)], {
      execArgv,
      env: { ...process.env, NODE_ENV: 'production' },
      // Children never print on purpose; whatever they do print must not end up in the results.
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    this.#process.stdout?.pipe(process.stderr);
    this.#process.on('message', (message: FromChild) => this.#deliver(message));
    this.#exited = new Promise((resolve) => {
      this.#process.on('exit', (code, signal) => {
        this.#gone = new Error(`${name} exited (code ${code}, signal ${signal})`);
        for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#gone);
        resolve();
      });
    });
  }

  #deliver(message: FromChild): void {
    const index = this.#waiters.findIndex((waiter) => waiter.type === message.type);
    if (index === -1) this.#inbox.push(message);
    else this.#waiters.splice(index, 1)[0]?.resolve(message);
  }

  /** The next message of `type` from the child (buffered if it came already). */
  next<T extends FromChild['type']>(type: T, timeoutMs = TIMEOUT_MS): Promise<Message<T>> {
    const index = this.#inbox.findIndex((message) => message.type === type);
    if (index !== -1) return Promise.resolve(this.#inbox.splice(index, 1)[0] as Message<T>);
    if (this.#gone) return Promise.reject(this.#gone);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const at = this.#waiters.indexOf(waiter);
        if (at !== -1) this.#waiters.splice(at, 1);
        reject(new Error(`${this.name}: no "${type}" message within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        type,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message as Message<T>);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  send(message: ToChild): void {
    if (this.#process.connected) this.#process.send(message);
  }

  async snapshot(phase: 'start' | 'end'): Promise<Snapshot> {
    this.send({ type: 'snapshot', phase });
    return (await this.next('snapshot')).snapshot;
  }

  /** Asks the child to exit (so a CPU profile gets written); kills it if it does not. */
  async exit(): Promise<void> {
    this.send({ type: 'exit' });
    const timer = setTimeout(() => this.#process.kill('SIGKILL'), 10_000);
    await this.#exited;
    clearTimeout(timer);
  }
}
