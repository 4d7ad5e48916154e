import type { Channel } from 'amqplib';
import type { ForkConnection } from './consume-options.js';
import { LazyChannel } from './lazy-channel.js';

interface Answer {
  readonly live: boolean;
  readonly at: number;
}

/** Beyond this many remembered fork queues, answers older than the refresh period are dropped. */
const MAX_ENTRIES = 1000;

/**
 * Answers "does fork queue Q exist and have a consumer?" for a baseline consumer, from
 * `checkQueue` on a channel of its own (a missing queue makes the broker close the channel that
 * asked, so it must not be the consuming one). Answers are reused for `refreshMs`; checks run
 * one at a time, because a 404 closes the channel under any check still waiting on it.
 */
export class ForkLiveness {
  readonly #connection: ForkConnection;
  readonly #refreshMs: number;
  readonly #answers = new Map<string, Answer>();
  readonly #pending = new Map<string, Promise<boolean>>();
  readonly #channel: LazyChannel<Channel>;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(connection: ForkConnection, refreshMs: number) {
    this.#connection = connection;
    this.#refreshMs = refreshMs;
    this.#channel = new LazyChannel(() => this.#connection.createChannel());
  }

  /**
   * Whether `queue` has a live consumer: synchronously from a recent answer, else a Promise of a
   * new one. `fresh` ignores the remembered answer (a message just came back from that queue).
   * Never rejects: a check that fails (connection trouble) answers false, not remembered.
   */
  live(queue: string, fresh: boolean): boolean | Promise<boolean> {
    const answer = this.#answers.get(queue);
    if (!fresh && answer !== undefined && Date.now() - answer.at < this.#refreshMs) {
      return answer.live;
    }
    const pending = this.#pending.get(queue);
    if (pending !== undefined) return pending;
    const check = this.#enqueue(queue);
    this.#pending.set(queue, check);
    return check;
  }

  close(): void {
    this.#channel.close();
  }

  #enqueue(queue: string): Promise<boolean> {
    const check = this.#tail.then(() => this.#check(queue));
    this.#tail = check;
    return check;
  }

  async #check(queue: string): Promise<boolean> {
    try {
      const channel = await this.#channel.get();
      const { consumerCount } = await channel.checkQueue(queue);
      this.#remember(queue, consumerCount > 0);
      return consumerCount > 0;
    } catch (error) {
      // The broker closed the channel: open another for the next check.
      this.#channel.reset();
      const missing = (error as { code?: unknown }).code === 404;
      if (missing) this.#remember(queue, false);
      return false;
    } finally {
      this.#pending.delete(queue);
    }
  }

  #remember(queue: string, live: boolean): void {
    const now = Date.now();
    if (this.#answers.size >= MAX_ENTRIES) {
      for (const [key, answer] of this.#answers) {
        if (now - answer.at >= this.#refreshMs) this.#answers.delete(key);
      }
    }
    this.#answers.set(queue, { live, at: now });
  }
}
