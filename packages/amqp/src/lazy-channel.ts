import type { Channel } from 'amqplib';

function noop(): void {}

/**
 * A channel of one's own, opened on first use and again after it closed (the broker closes a
 * channel on a 404 from `checkQueue`, a connection blip closes all); `close()` ends it for good.
 * Its 'error' events are swallowed: the operation that failed rejects, which is how the caller
 * learns of it. `setup` adds the caller's listeners to each new channel.
 */
export class LazyChannel<C extends Channel> {
  readonly #create: () => Promise<C>;
  readonly #setup: (channel: C) => void;
  #channel: Promise<C> | undefined;
  #closed = false;

  constructor(create: () => Promise<C>, setup: (channel: C) => void = noop) {
    this.#create = create;
    this.#setup = setup;
  }

  /** The open channel, opening one if there is none; rejects once `close()` was called. */
  get(): Promise<C> {
    if (this.#closed) return Promise.reject(new Error('closed'));
    if (this.#channel === undefined) {
      const opening = this.#create().then((channel) => {
        // A 404 is reported as the channel's 'error' event too; without a listener it would throw.
        channel.on('error', noop);
        channel.on('close', () => {
          if (this.#channel === opening) this.#channel = undefined;
        });
        this.#setup(channel);
        if (this.#closed) channel.close().catch(noop);
        return channel;
      });
      opening.catch(() => {
        if (this.#channel === opening) this.#channel = undefined;
      });
      this.#channel = opening;
    }
    return this.#channel;
  }

  /** Forgets the current channel (the broker closed it under an operation): `get()` opens another. */
  reset(): void {
    this.#channel = undefined;
  }

  close(): void {
    this.#closed = true;
    const channel = this.#channel;
    this.#channel = undefined;
    channel?.then((open) => open.close()).catch(noop);
  }
}
