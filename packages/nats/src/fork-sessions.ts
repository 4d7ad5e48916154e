// Fork sessions on one stream: a fork's durable consumer `<consumer>-fork-<id>` is the ledger of
// the messages its worker owns. It is created with deliver policy `new`, so the server fixes the
// first sequence it delivers (`start`) atomically; `start` is then written into its description
// so that every baseline replica reads the same boundary from the server.
import { isValidForkId } from '@kubefork/context';
import type { ConsumerConfig, ConsumerInfo, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';

/** A fork's durable consumer as the baseline sees it; `start` is undefined while it is born. */
export interface Session {
  readonly fork: string;
  readonly durable: string;
  readonly start: number | undefined;
}

const MARK = 'kubefork-fork-session';

/**
 * The durable name of `fork`'s consumer. Consumer names cannot hold `.` (fork ids can), so every
 * character outside `[A-Za-z0-9-]` is written as `_` and its hex code: `a.b` → `a_2eb`.
 */
export function durableName(consumer: string, fork: string): string {
  const safe = fork.replace(
    /[^A-Za-z0-9-]/g,
    (c) => `_${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return `${consumer}-fork-${safe}`;
}

/** Subject fork workers answer on with their id; the baseline asks it every refresh. */
export function presenceSubject(stream: string, consumer: string): string {
  return `kubefork.presence.${stream}.${consumer}`;
}

/** Subject a fork worker that stops gracefully announces its id on. */
export function leaveSubject(stream: string, consumer: string): string {
  return `kubefork.presence.${stream}.${consumer}.leave`;
}

function describe(consumer: string, fork: string, start: number): string {
  return JSON.stringify({ [MARK]: 1, consumer, fork, start });
}

/** The session a consumer's description records, if it is one of `consumer`'s fork sessions. */
function sessionOf(info: ConsumerInfo, consumer: string): Session | undefined {
  const name = info.config.durable_name ?? info.name;
  let fork: unknown;
  let start: unknown;
  try {
    const parsed = JSON.parse(info.config.description ?? '') as Record<string, unknown>;
    if (parsed[MARK] !== 1 || parsed.consumer !== consumer) return undefined;
    fork = parsed.fork;
    start = parsed.start;
  } catch {
    // Not described (yet): a session being born has our name, deliver policy `new`, no
    // description and no delivery so far.
    const prefix = `${consumer}-fork-`;
    const born =
      name.startsWith(prefix) &&
      !info.config.description &&
      info.config.deliver_policy === 'new' &&
      info.delivered.consumer_seq === 0;
    fork = born ? decodeFork(name.slice(prefix.length)) : undefined;
  }
  if (typeof fork !== 'string' || !isValidForkId(fork) || durableName(consumer, fork) !== name) {
    return undefined;
  }
  return { fork, durable: name, start: typeof start === 'number' ? start : undefined };
}

function decodeFork(safe: string): string {
  return safe.replace(/_([0-9a-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  );
}

/**
 * Opens (or, after a restart, reopens) `fork`'s session: the durable consumer with the base
 * consumer's filter and redelivery settings, and its `start`.
 */
export async function openSession(
  jsm: JetStreamManager,
  stream: string,
  base: ConsumerConfig,
  consumer: string,
  fork: string,
): Promise<Session> {
  const durable = durableName(consumer, fork);
  let info: ConsumerInfo;
  try {
    info = await jsm.consumers.info(stream, durable);
  } catch {
    const config: Partial<ConsumerConfig> = {
      durable_name: durable,
      ack_policy: base.ack_policy,
      deliver_policy: 'new' as ConsumerConfig['deliver_policy'],
      ack_wait: base.ack_wait,
      max_deliver: base.max_deliver,
      max_ack_pending: base.max_ack_pending,
    };
    if (base.filter_subject) config.filter_subject = base.filter_subject;
    if (base.filter_subjects?.length) config.filter_subjects = base.filter_subjects;
    try {
      info = await jsm.consumers.add(stream, config);
    } catch (error) {
      // Another replica of this fork's worker created it first (and described it).
      info = await jsm.consumers.info(stream, durable).catch(() => {
        throw error;
      });
    }
  }
  const session = await described(jsm, stream, consumer, info);
  if (session?.start === undefined) {
    throw new Error(`kubefork: consumer ${durable} on stream ${stream} is not a fork session`);
  }
  return session;
}

/**
 * The session `info` records, with its `start` written down first if it was still being born.
 * Anyone may finish a birth (the worker, or a baseline replica when the worker died in
 * between): nobody reads a session before `start` is written, so its first sequence is still
 * the stream's last + 1 at creation (deliver policy `new`) and every writer writes the same.
 */
async function described(
  jsm: JetStreamManager,
  stream: string,
  consumer: string,
  info: ConsumerInfo,
): Promise<Session | undefined> {
  const session = sessionOf(info, consumer);
  if (session === undefined || session.start !== undefined) return session;
  const start = info.delivered.stream_seq + 1;
  await jsm.consumers.update(stream, session.durable, {
    description: describe(consumer, session.fork, start),
  });
  return { ...session, start };
}

/**
 * The baseline's view of the fork sessions on a stream, and the stream's last sequence read
 * before the sessions were listed: the view decides a message only if its sequence is at most
 * that `last`. A session created after the listing starts after every message stored before it.
 */
export class SessionView {
  #last = 0;
  #sessions = new Map<string, Session>();
  #refreshing: Promise<void> | undefined;
  readonly #jsm: JetStreamManager;
  readonly #stream: string;
  readonly #consumer: string;

  constructor(jsm: JetStreamManager, stream: string, consumer: string) {
    this.#jsm = jsm;
    this.#stream = stream;
    this.#consumer = consumer;
  }

  get sessions(): ReadonlyMap<string, Session> {
    return this.#sessions;
  }

  /** Re-reads the stream's last sequence, then the sessions. Concurrent calls share one read. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#read().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #read(): Promise<void> {
    const info = await this.#jsm.streams.info(this.#stream);
    const last = info.state.last_seq;
    const sessions = new Map<string, Session>();
    for await (const consumer of this.#jsm.consumers.list(this.#stream)) {
      const session = await described(this.#jsm, this.#stream, this.#consumer, consumer);
      if (session !== undefined) sessions.set(session.fork, session);
    }
    this.#last = last;
    this.#sessions = sessions;
  }

  /**
   * True when the message `seq` of `fork` belongs to the fork's session (it is read from the
   * fork's durable consumer, by its worker or by the baseline standing in), false when the
   * baseline handles it from its own consumer. Waits for a fresh enough view.
   */
  async inSession(fork: string, seq: number): Promise<boolean> {
    for (;;) {
      if (this.#last >= seq) {
        const session = this.#sessions.get(fork);
        return session?.start !== undefined && seq >= session.start;
      }
      await this.refresh();
    }
  }
}

/** How long the baseline waits for the first presence reply, and then for more. */
const FIRST_REPLY_MS = 500;
const NEXT_REPLY_MS = 50;

/** The forks whose workers answer on the presence subject now. */
export async function livePresence(nc: NatsConnection, subject: string): Promise<Set<string>> {
  const live = new Set<string>();
  try {
    const replies = await nc.requestMany(subject, '', {
      strategy: 'stall',
      maxWait: FIRST_REPLY_MS,
      stall: NEXT_REPLY_MS,
    });
    for await (const reply of replies) {
      const id = reply.string();
      if (isValidForkId(id)) live.add(id);
    }
  } catch (error) {
    if (!isNoResponders(error)) throw error;
  }
  return live;
}

function isNoResponders(error: unknown): boolean {
  const e = error as { isNoResponders?: () => boolean; message?: unknown } | null;
  if (typeof e?.isNoResponders === 'function' && e.isNoResponders()) return true;
  return typeof e?.message === 'string' && e.message.includes('no responders');
}
