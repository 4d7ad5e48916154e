import { randomBytes } from 'node:crypto';
import type { ConfirmChannel, Message, Options } from 'amqplib';
import type { ForkConnection } from './consume-options.js';
import { LazyChannel } from './lazy-channel.js';

/**
 * Header a forwarded copy carries: which forward it is, so that the broker's return of an
 * unroutable copy (which arrives before its confirm) can be told apart from other copies.
 */
export const FORWARD_HEADER = 'x-kubefork-forward';

/** The publish options that reproduce a consumed message's properties (but `userId`, see README). */
function publishOptions(message: Message, headers: Record<string, unknown>): Options.Publish {
  const p = message.properties;
  const options: Options.Publish = { headers, mandatory: true };
  if (p.contentType !== undefined) options.contentType = p.contentType;
  if (p.contentEncoding !== undefined) options.contentEncoding = p.contentEncoding;
  if (p.deliveryMode !== undefined) options.deliveryMode = p.deliveryMode;
  if (p.priority !== undefined) options.priority = p.priority;
  if (p.correlationId !== undefined) options.correlationId = p.correlationId;
  if (p.replyTo !== undefined) options.replyTo = p.replyTo;
  if (p.expiration !== undefined) options.expiration = p.expiration;
  if (p.messageId !== undefined) options.messageId = p.messageId;
  if (p.timestamp !== undefined) options.timestamp = p.timestamp;
  if (p.type !== undefined) options.type = p.type;
  if (p.appId !== undefined) options.appId = p.appId;
  return options;
}

/**
 * Moves messages to fork queues for a baseline consumer: each copy is published to the default
 * exchange with `mandatory` on a confirm channel of its own, and counts as moved only once the
 * broker confirmed it and did not return it (the queue was deleted meanwhile).
 */
export class Forwarder {
  readonly #connection: ForkConnection;
  readonly #prefix = randomBytes(6).toString('hex');
  readonly #waiting = new Set<string>();
  readonly #returned = new Set<string>();
  #sequence = 0;
  readonly #channel: LazyChannel<ConfirmChannel>;

  constructor(connection: ForkConnection) {
    this.#connection = connection;
    this.#channel = new LazyChannel(
      () => this.#connection.createConfirmChannel(),
      (channel) => {
        channel.on('return', (returned: Message) => {
          const id = returned.properties.headers?.[FORWARD_HEADER];
          if (typeof id === 'string' && this.#waiting.has(id)) this.#returned.add(id);
        });
      },
    );
  }

  /**
   * Publishes a copy of `message` to `queue`; resolves true once the broker holds it there,
   * false when it could not (no such queue, a nack, a closed channel or connection): the caller
   * then handles the message itself. Never rejects.
   */
  async forward(message: Message, queue: string): Promise<boolean> {
    const id = `${this.#prefix}.${++this.#sequence}`;
    this.#waiting.add(id);
    try {
      const channel = await this.#channel.get();
      const headers = { ...message.properties.headers, [FORWARD_HEADER]: id };
      await new Promise<void>((resolve, reject) => {
        channel.publish('', queue, message.content, publishOptions(message, headers), (error) =>
          error ? reject(error) : resolve(),
        );
      });
      // RabbitMQ sends basic.return before the confirm of the same message.
      return !this.#returned.has(id);
    } catch {
      return false;
    } finally {
      this.#waiting.delete(id);
      this.#returned.delete(id);
    }
  }

  close(): void {
    this.#channel.close();
  }
}
