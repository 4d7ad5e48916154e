import { isValidForkId } from '@kubefork/context';
import { checkOptions, checkTrust, invalidOption } from '@kubefork/context/integration';
import type { ConsumerInfo, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { deliver, type Loop, startLoop } from './consume-loop.js';
import {
  leaveSubject,
  livePresence,
  openSession,
  presenceSubject,
  type Session,
  SessionView,
} from './fork-sessions.js';
import { messageForkId } from './message-fork.js';
import type { NatsMessage, NatsSettings } from './options.js';

/**
 * The JetStream message `forkConsumer` hands to `callback`: at run time `JsMsg` of
 * `@nats-io/jetstream`. Declared here, structurally, so that this package's types never need
 * that optional peer (a TypeScript app that uses only `forkNats` does not install it); a
 * callback may annotate its parameter as `JsMsg` to get every member.
 */
export interface ForkJsMessage extends NatsMessage {
  readonly data: Uint8Array;
  readonly seq: number;
  readonly redelivered: boolean;
  ack(): void;
  nak(millis?: number): void;
  working(): void;
  term(reason?: string): void;
  string(): string;
  json<T>(): T;
}

/** Options of `forkConsumer`. */
export interface ForkConsumerOptions {
  /** The JetStream stream. */
  stream: string;
  /** The baseline's durable pull consumer on `stream` (explicit acks); it must exist. */
  consumer: string;
  /** Apply the fork rule (default `true`). `false`: handle every message, each in its fork. */
  forkAware?: boolean;
  /**
   * This worker's fork. Default: the `KUBEFORK_FORK_ID` environment variable (set on a fork's
   * copies); unset or empty means this is the baseline worker.
   */
  forkId?: string;
  /** How often (ms) the baseline re-reads fork sessions and asks who is live. Default 1000. */
  refreshInterval?: number;
  /** Handles one message, in its fork; the message is acked when it returns or resolves. */
  callback(message: ForkJsMessage): unknown;
  /** `(message) => boolean`; a message it refuses counts as having no fork. Default: trust all. */
  trust?: (message: NatsMessage) => boolean;
  /** Told about callback failures (the message is then `nak`ed) and background errors. */
  onError?(error: unknown, message?: ForkJsMessage): void;
}

/** A running fork-aware consumer. */
export interface ForkConsumer {
  /** The fork this worker serves; undefined for the baseline. */
  readonly forkId: string | undefined;
  /**
   * Graceful stop: a fork worker leaves the presence set and says so (the baseline takes its
   * messages over at once); then pulls stop, messages pulled but not started are handed back,
   * and the one in hand finishes and is acked. The connection stays open.
   */
  stop(): Promise<void>;
}

interface Settings {
  readonly stream: string;
  readonly consumer: string;
  readonly forkAware: boolean;
  readonly forkId: string | undefined;
  readonly refreshInterval: number;
  readonly callback: (message: JsMsg) => unknown;
  readonly onError: (error: unknown, message?: JsMsg) => void;
  readonly messages: NatsSettings;
}

const KNOWN = [
  'stream',
  'consumer',
  'forkAware',
  'forkId',
  'refreshInterval',
  'callback',
  'trust',
  'onError',
];

/** Stream and consumer names: no `.`, `*`, `>`, whitespace or path separators. */
const NAME = /^[^.*>\s/\\]+$/;

function warn(error: unknown): void {
  process.emitWarning(`kubefork: fork-aware NATS consumer: ${String(error)}`);
}

function resolve(options: ForkConsumerOptions): Settings {
  const given = checkOptions(options, KNOWN);
  const { stream, consumer, forkAware = true, refreshInterval = 1000, callback } = given;
  if (typeof stream !== 'string' || !NAME.test(stream)) {
    throw invalidOption('stream', stream, 'a JetStream stream name');
  }
  if (typeof consumer !== 'string' || !NAME.test(consumer)) {
    throw invalidOption('consumer', consumer, 'a durable consumer name');
  }
  if (typeof forkAware !== 'boolean') throw invalidOption('forkAware', forkAware, 'a boolean');
  if (
    typeof refreshInterval !== 'number' ||
    !(refreshInterval >= 10 && refreshInterval < 2 ** 31)
  ) {
    throw invalidOption('refreshInterval', refreshInterval, 'a number of milliseconds ≥ 10');
  }
  if (typeof callback !== 'function') {
    throw invalidOption('callback', callback, 'a function (message) => unknown');
  }
  const onError = given.onError ?? warn;
  if (typeof onError !== 'function') {
    throw invalidOption('onError', onError, 'a function (error, message?) => void');
  }
  let forkId = given.forkId;
  if (forkId === undefined) {
    const env = process.env.KUBEFORK_FORK_ID;
    if (env !== undefined && env !== '' && !isValidForkId(env)) {
      throw invalidOption('KUBEFORK_FORK_ID', env, 'a valid fork id (environment variable)');
    }
    forkId = env === '' ? undefined : env;
  } else if (!isValidForkId(forkId)) {
    throw invalidOption('forkId', forkId, 'a valid fork id');
  }
  const trust = checkTrust<(message: NatsMessage) => boolean>(given.trust, '(message) => boolean');
  return {
    stream,
    consumer,
    forkAware,
    forkId: forkId as string | undefined,
    refreshInterval,
    callback: callback as Settings['callback'],
    onError: onError as Settings['onError'],
    messages: { trust },
  };
}

/**
 * Starts a fork-aware JetStream consumer: a message whose fork has a live worker of its own is
 * handled by that worker only; every other message (no fork, or a fork without a worker) by
 * the baseline. Run the same code in the baseline worker and in each fork's copy; the copy
 * learns its fork from `KUBEFORK_FORK_ID` (or `forkId`).
 *
 * - A fork worker opens its session: the durable `<consumer>-fork-<id>` on the same stream
 *   (same filter, ack wait, max deliver), starting at the stream's next message. It reads every
 *   message (NATS cannot filter on a header), handles its fork's and acks the rest. It answers
 *   on `kubefork.presence.<stream>.<consumer>` with its id.
 * - The baseline reads `consumer`: it handles messages without a fork, and a fork's message
 *   unless the fork has a session that started at or before the message. Every
 *   `refreshInterval` it asks who is live; for a session whose worker is not (two silent
 *   rounds, or one after a graceful leave) it reads the session's durable itself and handles
 *   that fork's messages, until the worker answers again.
 *
 * At-least-once: nothing is lost when a worker stops or dies; a message handled but not acked
 * when its worker died is handled again after `ack_wait`. Core NATS subscriptions are not
 * supported: they keep no messages to hand back. Throws `TypeError` (code
 * `ERR_KUBEFORK_INVALID_OPTION`) for a bad option or a consumer that is not a durable pull
 * consumer with explicit acks; needs `@nats-io/jetstream`.
 *
 * @example
 * import { connect } from '@nats-io/transport-node';
 * import { forkConsumer } from '@kubefork/nats';
 *
 * const nc = await connect({ servers: 'nats:4222' });
 * const worker = await forkConsumer(nc, {
 *   stream: 'ORDERS',
 *   consumer: 'billing',
 *   forkAware: true,
 *   callback: async (msg) => bill(msg.json()), // runs in msg's fork
 * });
 * process.on('SIGTERM', () => worker.stop());
 */
export async function forkConsumer(
  connection: NatsConnection,
  options: ForkConsumerOptions,
): Promise<ForkConsumer> {
  const nc = connection as Partial<NatsConnection> | null;
  if (
    typeof nc !== 'object' ||
    nc === null ||
    typeof nc.subscribe !== 'function' ||
    typeof nc.request !== 'function'
  ) {
    throw invalidOption('connection', connection, 'a nats.js NatsConnection');
  }
  const settings = resolve(options);
  const { jetstream, jetstreamManager } = await import('@nats-io/jetstream');
  const jsm = await jetstreamManager(connection);
  const js = jetstream(connection);
  let base: ConsumerInfo;
  try {
    base = await jsm.consumers.info(settings.stream, settings.consumer);
  } catch (error) {
    throw new Error(
      `kubefork: consumer ${settings.consumer} on stream ${settings.stream} not found`,
      { cause: error },
    );
  }
  if (base.config.deliver_subject || base.config.ack_policy !== 'explicit') {
    throw invalidOption(
      'consumer',
      settings.consumer,
      'a durable pull consumer with explicit acks',
    );
  }
  if (!settings.forkAware) return plainWorker(js, settings);
  if (settings.forkId !== undefined) {
    return forkWorker(connection, jsm, js, base, settings, settings.forkId);
  }
  return baselineWorker(connection, jsm, js, settings);
}

async function plainWorker(js: JetStreamClient, settings: Settings): Promise<ForkConsumer> {
  const { callback, onError } = settings;
  const consumer = await js.consumers.get(settings.stream, settings.consumer);
  const loop = await startLoop(
    consumer,
    (message) => deliver(message, messageForkId(message, settings.messages), callback, onError),
    onError,
  );
  return { forkId: settings.forkId, stop: () => loop.stop() };
}

async function forkWorker(
  nc: NatsConnection,
  jsm: JetStreamManager,
  js: JetStreamClient,
  base: ConsumerInfo,
  settings: Settings,
  forkId: string,
): Promise<ForkConsumer> {
  const { stream, consumer, callback, onError } = settings;
  // Answer before the session exists: a baseline that sees the session must also see us live.
  const presence = nc.subscribe(presenceSubject(stream, consumer), {
    callback: (_error, message) => {
      message.respond(forkId);
    },
  });
  let loop: Loop;
  try {
    await nc.flush();
    const session = await openSession(jsm, stream, base.config, consumer, forkId);
    const reader = await js.consumers.get(stream, session.durable);
    loop = await startLoop(
      reader,
      async (message) => {
        if (messageForkId(message, settings.messages) === forkId) {
          await deliver(message, forkId, callback, onError);
        } else {
          message.ack();
        }
      },
      onError,
    );
  } catch (error) {
    presence.unsubscribe();
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    forkId,
    stop() {
      stopped ??= (async function leave() {
        presence.unsubscribe();
        if (!nc.isClosed()) {
          nc.publish(leaveSubject(stream, consumer), forkId);
          await nc.flush().catch(() => undefined);
        }
        await loop.stop();
      })();
      return stopped;
    },
  };
}

/** Presence rounds a live fork's worker may miss before the baseline stands in. */
const MISSES = 2;

async function baselineWorker(
  nc: NatsConnection,
  jsm: JetStreamManager,
  js: JetStreamClient,
  settings: Settings,
): Promise<ForkConsumer> {
  const { stream, consumer, callback, onError, refreshInterval } = settings;
  const view = new SessionView(jsm, stream, consumer);
  const standIns = new Map<string, Loop>();
  const misses = new Map<string, number>();
  const left = new Set<string>();
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> | undefined;
  let again = false;

  /** Reads one fork's session durable for its absent worker. */
  async function standIn(session: Session): Promise<void> {
    const reader = await js.consumers.get(stream, session.durable);
    const loop = await startLoop(
      reader,
      async (message) => {
        if (messageForkId(message, settings.messages) === session.fork) {
          await deliver(message, session.fork, callback, onError);
        } else {
          message.ack();
        }
      },
      onError,
    );
    standIns.set(session.fork, loop);
    // A stand-in whose pull ended on its own (the durable was deleted) starts again next round.
    void loop.done.then(() => {
      if (standIns.get(session.fork) === loop) standIns.delete(session.fork);
    });
  }

  async function refresh(): Promise<void> {
    await view.refresh();
    const live = await livePresence(nc, presenceSubject(stream, consumer));
    for (const [fork, loop] of standIns) {
      if (live.has(fork) || !view.sessions.has(fork)) {
        standIns.delete(fork);
        await loop.stop();
      }
    }
    for (const session of view.sessions.values()) {
      const { fork } = session;
      if (live.has(fork)) {
        misses.delete(fork);
        left.delete(fork);
        continue;
      }
      const missed = (misses.get(fork) ?? 0) + 1;
      misses.set(fork, missed);
      if ((missed >= MISSES || left.has(fork)) && !standIns.has(fork) && !stopping) {
        await standIn(session);
      }
    }
  }

  /** Runs a refresh now, or right after the one running; then every `refreshInterval`. */
  function schedule(): void {
    clearTimeout(timer);
    // A closed connection ends the worker: its loops have ended, nothing is left to refresh.
    if (stopping || nc.isClosed()) return;
    if (round !== undefined) {
      again = true;
      return;
    }
    round = refresh()
      .catch((error: unknown) => onError(error))
      .finally(() => {
        round = undefined;
        if (stopping) return;
        if (again) {
          again = false;
          schedule();
        } else {
          timer = setTimeout(schedule, refreshInterval);
        }
      });
  }

  const leaves: Subscription = nc.subscribe(leaveSubject(stream, consumer), {
    callback: (_error, message) => {
      const fork = message.string();
      if (!isValidForkId(fork)) return;
      left.add(fork);
      schedule();
    },
  });
  await view.refresh();
  const own = await js.consumers.get(stream, consumer);
  const loop = await startLoop(
    own,
    async (message) => {
      const fork = messageForkId(message, settings.messages);
      let theirs: boolean;
      try {
        theirs = fork !== undefined && (await view.inSession(fork, message.seq));
      } catch (error) {
        // The view could not be read: decide later rather than guess.
        onError(error, message);
        message.nak(refreshInterval);
        return;
      }
      if (theirs) message.ack();
      else await deliver(message, fork, callback, onError);
    },
    onError,
  );
  schedule();

  let stopped: Promise<void> | undefined;
  return {
    forkId: undefined,
    stop() {
      stopped ??= (async function stop() {
        stopping = true;
        clearTimeout(timer);
        leaves.unsubscribe();
        await round;
        await Promise.all([loop.stop(), ...[...standIns.values()].map((l) => l.stop())]);
        standIns.clear();
      })();
      return stopped;
    },
  };
}
