import { runWithForkId } from '@kubefork/context';
import type { Consumer, JsMsg } from '@nats-io/jetstream';

/** A running pull loop over one JetStream consumer. */
export interface Loop {
  /** Stops pulling, gives back what was pulled but not started, waits for the message in hand. */
  stop(): Promise<void>;
  /** Settles when the loop has ended (stopped, or its connection closed). */
  readonly done: Promise<void>;
}

/** Messages pulled ahead per loop: those are what waits `ack_wait` when a reader dies. */
const BATCH = 32;

/**
 * Pulls from `consumer` and gives each message to `handle`, one at a time, in order. `stop()`
 * closes the pull and `nak`s every message that was pulled but not yet handled, so that another
 * reader of the same consumer gets it at once instead of after `ack_wait`.
 */
export async function startLoop(
  consumer: Consumer,
  handle: (message: JsMsg) => Promise<void>,
  onError: (error: unknown) => void,
): Promise<Loop> {
  const messages = await consumer.consume({ max_messages: BATCH });
  let stopping = false;
  const done = (async function pull() {
    try {
      for await (const message of messages) {
        if (stopping) message.nak();
        else await handle(message);
      }
    } catch (error) {
      if (!stopping) onError(error);
    }
  })();
  return {
    done,
    async stop() {
      if (!stopping) {
        stopping = true;
        // close() waits for the iterator to drain, so it must not be awaited inside the loop.
        await messages.close().catch(() => undefined);
      }
      await done;
    },
  };
}

/**
 * Handles one message: runs `callback` in `fork`, then acks. A callback that throws (or
 * rejects) is reported and the message `nak`ed, so it is delivered again (at-least-once).
 */
export async function deliver(
  message: JsMsg,
  fork: string | undefined,
  callback: (message: JsMsg) => unknown,
  onError: (error: unknown, message?: JsMsg) => void,
): Promise<void> {
  try {
    await runWithForkId(fork, () => callback(message));
    message.ack();
  } catch (error) {
    onError(error, message);
    message.nak();
  }
}
