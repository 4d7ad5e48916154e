import { isValidForkId } from '@kubefork/context';
import { invalidOption } from '@kubefork/context/integration';
import type { Channel, ConfirmChannel, ConsumeMessage, Options, Replies } from 'amqplib';

/** The environment variable a fork's copy of a Deployment carries its fork id in. */
export const FORK_ID_ENV = 'KUBEFORK_FORK_ID';

/** What fork-aware consuming needs of a connection: amqplib's promise-API `ChannelModel`. */
export interface ForkConnection {
  createChannel(): Promise<Channel>;
  createConfirmChannel(): Promise<ConfirmChannel>;
}

/** Options `consume` accepts on a channel `forkChannel` wrapped, next to amqplib's own. */
export interface ForkConsumeOptions {
  /**
   * Applies the fork routing rule to this consumer: a message of a fork that has a live
   * consumer of its own is handled by that consumer only, every other message by the baseline.
   * Default false (every message is handled here, in its own fork).
   */
  forkAware?: boolean;
  /** The connection the channel belongs to; fork-aware consuming opens its own channels on it. */
  connection?: ForkConnection;
  /**
   * This consumer's fork. Default: the `KUBEFORK_FORK_ID` environment variable (set on a fork's
   * copies); neither set (or the variable empty) makes this the baseline consumer.
   */
  forkId?: string;
  /**
   * Fork consumers: how long a message may wait in `<queue>.fork.<id>` before it goes back to
   * `<queue>` (dead-lettered); the bound on how long a stopped fork holds messages. Default 1000.
   */
  forkQueueTtlMs?: number;
  /**
   * Baseline consumers: how long the answer "fork X has a live consumer" is reused before it is
   * asked again; the bound on how long a started or stopped fork is not yet seen. Default 1000.
   */
  forkRefreshMs?: number;
}

/** The consume method a wrapped promise-API channel gains: amqplib's options plus ours. */
export interface ForkAwareConsume {
  consume(
    queue: string,
    onMessage: (message: ConsumeMessage | null) => void,
    options?: Options.Consume & ForkConsumeOptions,
  ): Promise<Replies.Consume>;
}

/**
 * What `forkChannel` returns: the channel itself, typed with the fork-aware consume options when
 * it is a promise-API channel (fork-aware consuming needs the promise API).
 */
export type ForkedChannel<C> = C extends { consume(...args: never[]): Promise<unknown> }
  ? C & ForkAwareConsume
  : C;

/** Resolved options of one fork-aware `consume`. */
export interface ForkAwareSettings {
  readonly connection: ForkConnection;
  /** This consumer's fork, or undefined for the baseline consumer. */
  readonly ownFork: string | undefined;
  readonly queueTtlMs: number;
  readonly refreshMs: number;
  /** The caller's consume options without ours, for amqplib. */
  readonly consumeOptions: Options.Consume | undefined;
}

const OURS = ['forkAware', 'connection', 'forkId', 'forkQueueTtlMs', 'forkRefreshMs'] as const;

export const DEFAULT_QUEUE_TTL_MS = 1000;
export const DEFAULT_REFRESH_MS = 1000;
/** Upper bound of `forkRefreshMs`: a fork queue's `x-expires` is its TTL plus this and more. */
const MAX_REFRESH_MS = 30_000;
/** Upper bound of `forkQueueTtlMs` (RabbitMQ's limit on TTLs is 2^32-1 ms; a day is plenty). */
const MAX_QUEUE_TTL_MS = 86_400_000;

function milliseconds(option: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalidOption(option, value, `an integer number of milliseconds from 1 to ${max}`);
  }
  return value;
}

function isConnection(value: unknown): value is ForkConnection {
  const connection = value as ForkConnection | null;
  return (
    typeof connection === 'object' &&
    connection !== null &&
    typeof connection.createChannel === 'function' &&
    typeof connection.createConfirmChannel === 'function'
  );
}

/** The own fork: the option, else `KUBEFORK_FORK_ID`; validated like any fork id. */
function ownFork(forkId: unknown): string | undefined {
  if (forkId !== undefined) {
    if (!isValidForkId(forkId)) throw invalidOption('forkId', forkId, 'a valid fork id');
    return forkId;
  }
  const env = process.env[FORK_ID_ENV];
  if (env === undefined || env === '') return undefined;
  if (!isValidForkId(env)) throw invalidOption(FORK_ID_ENV, env, 'a valid fork id (or unset)');
  return env;
}

/**
 * Reads our options out of a `consume` options argument: undefined when it asks for nothing of
 * ours (plain consume), the settings when `forkAware` is true. Throws the standard `TypeError`
 * for a bad value, for our options without `forkAware: true`, and for `noAck` (a forwarded
 * message is acked only once the broker confirmed its copy).
 */
export function resolveConsumeOptions(options: unknown): ForkAwareSettings | undefined {
  if (options === null || typeof options !== 'object') return undefined;
  const given = options as Record<string, unknown>;
  const named = OURS.filter((key) => given[key] !== undefined);
  if (named.length === 0) return undefined;
  const { forkAware } = given;
  if (forkAware !== undefined && typeof forkAware !== 'boolean') {
    throw invalidOption('forkAware', forkAware, 'a boolean');
  }
  if (forkAware !== true) {
    const key = named.find((name) => name !== 'forkAware');
    if (key === undefined) return undefined; // forkAware: false alone
    throw invalidOption(key, given[key], 'given only with forkAware: true');
  }
  if (!isConnection(given.connection)) {
    throw invalidOption(
      'connection',
      given.connection,
      "the channel's amqplib connection (promise API: createChannel, createConfirmChannel)",
    );
  }
  if (given.noAck === true) {
    throw invalidOption('noAck', true, 'false with forkAware (forwarded messages are acked)');
  }
  const consumeOptions: Record<string, unknown> = { ...given };
  for (const key of OURS) delete consumeOptions[key];
  return {
    connection: given.connection,
    ownFork: ownFork(given.forkId),
    queueTtlMs: milliseconds(
      'forkQueueTtlMs',
      given.forkQueueTtlMs,
      DEFAULT_QUEUE_TTL_MS,
      MAX_QUEUE_TTL_MS,
    ),
    refreshMs: milliseconds(
      'forkRefreshMs',
      given.forkRefreshMs,
      DEFAULT_REFRESH_MS,
      MAX_REFRESH_MS,
    ),
    consumeOptions: consumeOptions as Options.Consume,
  };
}

/** A fork consumer's queue: `<queue>.fork.<id>`. */
export function forkQueueName(queue: string, id: string): string {
  return `${queue}.fork.${id}`;
}

/**
 * The arguments of `<queue>.fork.<id>`: messages wait at most `ttl` ms, then are dead-lettered
 * back to `<queue>` through the default exchange, so a stopped fork strands nothing. The queue
 * itself goes after a minute unused, long after any message in it has expired and after every
 * baseline consumer stopped sending to it (`forkRefreshMs` is at most 30 s).
 */
export function forkQueueArguments(queue: string, ttl: number): Record<string, unknown> {
  return {
    'x-message-ttl': ttl,
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': queue,
    'x-expires': ttl + 2 * MAX_REFRESH_MS,
  };
}
