import { isValidForkId, runWithForkId } from '@kubefork/context';
import { checkOptions, checkTrust, invalidOption } from '@kubefork/context/integration';
import type {
  Admin,
  Consumer,
  ConsumerConfig,
  ConsumerGroupJoinEvent,
  EachMessagePayload,
  Kafka,
} from 'kafkajs';
import { type ForkMessage, forkIdOfMessage, type Trust } from './message-fork.js';
import { markWrapped, wrapMethod } from './wrap.js';

/** Options of a fork-aware `forkConsumer(kafka, config, options)`. */
export interface ForkAwareOptions {
  /** Must be `true`: this consumer applies the routing rule (its fork's messages only, or the baseline's). */
  forkAware: true;
  /**
   * The fork this worker runs in. Default: the `KUBEFORK_FORK_ID` environment variable (which a
   * Fork sets on its copies); unset or empty means the baseline worker.
   */
  forkId?: string;
  /** How often the baseline asks the broker which forks have a live consumer group, in ms. Default 2000. */
  refreshMs?: number;
  /** As for `forkConsumer(consumer, { trust })`: an untrusted message is the baseline's. */
  trust?: (message: ForkMessage) => boolean;
}

type EachMessage = (payload: EachMessagePayload) => Promise<void>;

export const DEFAULT_REFRESH_MS = 2_000;
const ENV = 'KUBEFORK_FORK_ID';

const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** The consumer group of fork `forkId` of the consumers in group `groupId`. */
export function forkGroupId(groupId: string, forkId: string): string {
  return `${groupId}.fork.${forkId}`;
}

/** The KafkaJS client, checked: a fork-aware consumer needs its `consumer` and `admin`. */
function checkKafka(kafka: unknown): Kafka {
  const client = kafka as { consumer?: unknown; admin?: unknown } | null;
  if (
    client === null ||
    typeof client !== 'object' ||
    typeof client.consumer !== 'function' ||
    typeof client.admin !== 'function'
  ) {
    throw invalidOption('kafka', kafka, 'a KafkaJS Kafka client (new Kafka(...))');
  }
  return kafka as Kafka;
}

function ownFork(option: unknown): string | undefined {
  if (option !== undefined) {
    if (!isValidForkId(option)) throw invalidOption('forkId', option, 'a valid fork id');
    return option;
  }
  const env = process.env[ENV];
  if (env === undefined || env === '') return undefined;
  // A copy told the wrong fork must not fall back to consuming as the baseline.
  if (!isValidForkId(env)) throw invalidOption(ENV, env, 'a valid fork id, or unset');
  return env;
}

function checkRefresh(value: unknown): number {
  if (value === undefined) return DEFAULT_REFRESH_MS;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 10 || value > 3_600_000) {
    throw invalidOption('refreshMs', value, 'a number of milliseconds from 10 to 3600000');
  }
  return value;
}

/**
 * Topics named in `subscribe({ topic })` or `subscribe({ topics })` (regular expressions are not
 * tracked), each with its `fromBeginning`.
 */
function trackSubscriptions(consumer: Consumer, topics: Map<string, boolean>): void {
  wrapMethod(
    consumer,
    'subscribe',
    (subscribe) =>
      function forkAwareSubscribe(this: unknown, subscription: unknown, ...rest: unknown[]) {
        const {
          topic,
          topics: list,
          fromBeginning,
        } = (subscription ?? {}) as { topic?: unknown; topics?: unknown; fromBeginning?: unknown };
        for (const name of [topic, ...(Array.isArray(list) ? list : [])]) {
          if (typeof name === 'string') topics.set(name, fromBeginning === true);
        }
        return subscribe.call(this, subscription, ...rest);
      },
  );
}

/** The `eachMessage` of a `run` config; `eachBatch` cannot be routed message by message. */
function eachMessageOf(config: unknown): EachMessage {
  const { eachMessage, eachBatch } = (config ?? {}) as {
    eachMessage?: unknown;
    eachBatch?: unknown;
  };
  if (eachBatch !== undefined) {
    throw invalidOption('eachBatch', eachBatch, 'absent: a fork-aware consumer routes eachMessage');
  }
  if (typeof eachMessage !== 'function') {
    throw invalidOption('eachMessage', eachMessage, 'a function ({ message }) => Promise<void>');
  }
  return eachMessage as EachMessage;
}

/** A group's committed offsets of one topic, by partition; partitions without one are absent. */
async function committed(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<Map<number, bigint>> {
  const out = new Map<number, bigint>();
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  for (const { partition, offset } of entry?.partitions ?? []) {
    const value = BigInt(offset);
    if (value >= 0n) out.set(partition, value);
  }
  return out;
}

/** Connects `admin` once; disconnecting the consumer disconnects it too and runs `stop`. */
function withAdmin(consumer: Consumer, admin: Admin, stop: () => void): () => Promise<void> {
  let connected: Promise<void> | undefined;
  wrapMethod(
    consumer,
    'disconnect',
    (disconnect) =>
      async function forkAwareDisconnect(this: unknown, ...args: unknown[]) {
        stop();
        try {
          await disconnect.apply(this, args);
        } finally {
          if (connected !== undefined) await admin.disconnect();
        }
      },
  );
  return () => {
    connected ??= admin.connect();
    return connected;
  };
}

/**
 * A fork's worker: joins `<group>.fork.<id>`, handles the messages of its fork (in that fork) and
 * commits every other message unhandled. On its group's first join it seeks every partition to
 * its group's offset, or, when its group has none (new, or deleted by the baseline after a
 * takeover), to the baseline group's: messages before that are handled, and no later message can
 * have been skipped by a baseline that has not yet seen this group.
 */
function forkWorker(kafka: Kafka, config: ConsumerConfig, own: string, trust: Trust | undefined) {
  const baseline = config.groupId;
  const group = forkGroupId(baseline, own);
  const consumer = kafka.consumer({ ...config, groupId: group });
  const admin = kafka.admin();
  const topics = new Map<string, boolean>();
  trackSubscriptions(consumer, topics);
  const connectAdmin = withAdmin(consumer, admin, () => {});
  // topic → partition → where to start on the first join.
  const start = new Map<string, Map<number, bigint>>();
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, function forkJoined(event: ConsumerGroupJoinEvent) {
    if (joined) return;
    joined = true;
    for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) {
      for (const partition of partitions) {
        const offset = start.get(topic)?.get(partition);
        // Seeks set now apply before the first fetch (KafkaJS seeks at the start of each fetch).
        if (offset !== undefined) consumer.seek({ topic, partition, offset: String(offset) });
      }
    }
  });

  wrapMethod(
    consumer,
    'run',
    (run) =>
      async function forkAwareRun(this: unknown, runConfig: unknown, ...rest: unknown[]) {
        const handler = eachMessageOf(runConfig);
        await connectAdmin();
        for (const [topic, fromBeginning] of topics) {
          const [mine, theirs, ends] = await Promise.all([
            committed(admin, group, topic),
            committed(admin, baseline, topic),
            admin.fetchTopicOffsets(topic),
          ]);
          // Our group's offset when it has one: either another replica is live (the baseline
          // skips for it) or the baseline has not finished taking over from our last run (it
          // deletes our group once it has); starting later would lose what was skipped. Else the
          // baseline's: everything before it is handled. Else where `fromBeginning` says. Every
          // partition gets a start, so the seek commits one and the baseline always knows from
          // where this group took over, even where it has handled nothing yet.
          const at = new Map<number, bigint>();
          for (const { partition, low, high } of ends) {
            at.set(
              partition,
              mine.get(partition) ?? theirs.get(partition) ?? BigInt(fromBeginning ? low : high),
            );
          }
          start.set(topic, at);
        }
        function forkEachMessage(this: unknown, payload: EachMessagePayload): Promise<void> {
          // Another fork's message or the baseline's: committed with the rest, not handled here.
          if (forkIdOfMessage(payload.message, trust) !== own) return Promise.resolve();
          return runWithForkId(own, () => handler.call(this, payload));
        }
        return run.call(this, { ...(runConfig as object), eachMessage: forkEachMessage }, ...rest);
      },
  );
  markWrapped(consumer);
  return consumer;
}

/** What the baseline knows of one partition it consumes. */
interface PartitionState {
  /** One past the highest offset handled or skipped: a lower offset is read again after a seek. */
  high: bigint;
  /** One past the offset read last (lower than `high` while reading again). */
  cursor: bigint;
  /** Fork → first offset skipped for it (its group was live) since it was last taken over. */
  readonly skippedFrom: Map<string, bigint>;
  /** Fork → offsets to handle when read again: the fork left, its skipped messages are ours. */
  readonly replay: Map<string, { from: bigint; to: bigint }>;
  /** Fork → its group committed up to here before it left: messages below are done. */
  readonly doneBelow: Map<string, bigint>;
  /** A takeover asked for a seek (to `seekTarget`) that no read has shown yet: keep `replay` until it has. */
  seeking: boolean;
  seekTarget: bigint;
}

const partitionKey = (topic: string, partition: number) => `${partition}:${topic}`;

/**
 * The baseline worker: handles messages without a fork and those of forks that have no live
 * consumer group of their own, skips (commits unhandled) those of forks that have one. Live forks
 * come from the admin API: groups `<group>.fork.<id>` with members, asked every `refreshMs`. When
 * a fork's group is no longer live, the baseline seeks back to where that group had committed and
 * handles, on this second read, only that fork's messages it had skipped.
 */
function baselineWorker(
  kafka: Kafka,
  config: ConsumerConfig,
  refreshMs: number,
  trust: Trust | undefined,
) {
  const baseline = config.groupId;
  const prefix = forkGroupId(baseline, '');
  const consumer = kafka.consumer(config);
  const admin = kafka.admin();
  const topics = new Map<string, boolean>();
  const live = new Set<string>();
  const partitions = new Map<string, PartitionState>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  trackSubscriptions(consumer, topics);
  const deletions = new Set<NodeJS.Timeout>();
  const connectAdmin = withAdmin(consumer, admin, () => {
    stopped = true;
    clearTimeout(timer);
    for (const deletion of deletions) clearTimeout(deletion);
    deletions.clear();
  });

  /** Fork → partitions whose second read for it has not ended; its group is deleted after. */
  const pending = new Map<string, Set<string>>();
  /** Forks whose group another baseline member may still need (never deleted by this one). */
  const keep = new Set<string>();
  /** Partition → departed forks' ranges to read again on the first join (see `run`). */
  let recovery = new Map<string, { high: bigint; ranges: Map<string, bigint> }>();

  function stateOf(key: string): PartitionState {
    let state = partitions.get(key);
    if (state === undefined) {
      state = {
        high: 0n,
        cursor: 0n,
        skippedFrom: new Map(),
        replay: new Map(),
        doneBelow: new Map(),
        seeking: false,
        seekTarget: 0n,
      };
      partitions.set(key, state);
    }
    return state;
  }

  function seek(key: string, offset: bigint): void {
    const colon = key.indexOf(':');
    try {
      // With autoCommit KafkaJS commits the earlier offset too: a crash before the second read
      // ends reads again from there (duplicates, nothing lost).
      consumer.seek({
        topic: key.slice(colon + 1),
        partition: Number(key.slice(0, colon)),
        offset: String(offset),
      });
    } catch {
      // Not running any more.
    }
  }

  /**
   * Plans the second read of `fork`'s messages from `from` up to what this partition has read;
   * returns where to seek, or undefined when the fork's group is ahead of us.
   */
  function plan(key: string, state: PartitionState, fork: string, from: bigint) {
    if (from >= state.high) {
      state.doneBelow.set(fork, from);
      return undefined;
    }
    // A seek not yet applied, or a second read under way, must not be jumped over.
    let target = from;
    if (state.seeking) target = min(target, state.seekTarget);
    else if (state.replay.size > 0 && state.cursor < state.high) {
      target = min(target, state.cursor);
    }
    const earlier = state.replay.get(fork);
    state.replay.set(fork, { from: min(from, earlier?.from ?? from), to: state.high });
    state.seeking = true;
    state.seekTarget = target;
    const keys = pending.get(fork) ?? new Set<string>();
    keys.add(key);
    pending.set(fork, keys);
    return target;
  }

  /**
   * A fork's second reads have all ended: delete its (empty) group, after the other baseline
   * members have had time to read its offsets. They are then no longer needed, and a baseline
   * starting later takes any group it still finds for a fork that left while no baseline ran
   * (see `planRecovery`). The broker refuses if the fork came back meanwhile.
   */
  function settle(fork: string, key?: string): void {
    const keys = pending.get(fork);
    if (key !== undefined) keys?.delete(key);
    if (keys !== undefined && keys.size > 0) return;
    pending.delete(fork);
    if (keep.has(fork)) return;
    // Other baseline members read the group's offsets at their own next refresh: give them two.
    const timer = setTimeout(
      function deleteForkGroup() {
        deletions.delete(timer);
        if (live.has(fork) || pending.has(fork) || stopped) return;
        admin.deleteGroups([forkGroupId(baseline, fork)]).catch(() => {
          // Back already, gone already, or the broker is unreachable: nothing is lost.
        });
      },
      2 * refreshMs + 1_000,
    );
    timer.unref();
    deletions.add(timer);
  }

  consumer.on(consumer.events.GROUP_JOIN, function baselineJoined(event: ConsumerGroupJoinEvent) {
    // A partition given to another member starts afresh if it comes back.
    const kept = new Set<string>();
    for (const [topic, list] of Object.entries(event.payload.memberAssignment)) {
      for (const partition of list) kept.add(partitionKey(topic, partition));
    }
    for (const key of partitions.keys()) if (!kept.has(key)) partitions.delete(key);
    // First join: read again what forks that left while no baseline ran had not handled. Seeks
    // set now apply before the first fetch.
    const shared = new Set<string>();
    for (const [key, { high, ranges }] of recovery) {
      if (!kept.has(key)) {
        // Another member reads this partition: it needs the fork's group, which therefore stays.
        for (const fork of ranges.keys()) shared.add(fork);
        continue;
      }
      const state = stateOf(key);
      state.high = high;
      state.cursor = high;
      let target: bigint | undefined;
      for (const [fork, from] of ranges) {
        if (live.has(fork)) continue;
        const at = plan(key, state, fork, from);
        if (at !== undefined) target = target === undefined ? at : min(target, at);
      }
      if (target !== undefined) seek(key, target);
    }
    const forks = new Set([...recovery.values()].flatMap(({ ranges }) => [...ranges.keys()]));
    recovery = new Map();
    for (const fork of shared) keep.add(fork);
    for (const fork of forks) if (!pending.has(fork)) settle(fork);
  });

  /** The forks whose group has members, and those whose group exists without any. */
  async function forkGroups(): Promise<{ live: Set<string>; idle: Set<string> }> {
    const { groups } = await admin.listGroups();
    const ids = groups
      .map(({ groupId }) => groupId)
      .filter((id) => id.startsWith(prefix) && isValidForkId(id.slice(prefix.length)));
    const out = { live: new Set<string>(), idle: new Set<string>() };
    if (ids.length === 0) return out;
    const described = await admin.describeGroups(ids);
    for (const { groupId, members, state } of described.groups) {
      const fork = groupId.slice(prefix.length);
      if (members.length > 0 && state !== 'Empty' && state !== 'Dead') out.live.add(fork);
      else if (state !== 'Dead') out.idle.add(fork);
    }
    return out;
  }

  /** Committed offsets of `fork`'s group, by partition key, over the subscribed topics. */
  async function forkOffsets(fork: string): Promise<Map<string, bigint>> {
    const byKey = new Map<string, bigint>();
    for (const topic of topics.keys()) {
      for (const [partition, offset] of await committed(
        admin,
        forkGroupId(baseline, fork),
        topic,
      )) {
        byKey.set(partitionKey(topic, partition), offset);
      }
    }
    return byKey;
  }

  async function refresh(): Promise<Set<string>> {
    const { live: now, idle } = await forkGroups();
    for (const fork of now) live.add(fork);
    const left = [...live].filter((fork) => !now.has(fork));
    if (left.length > 0) await takeOver(left);
    return idle;
  }

  /** The forks in `left` have no live group any more: their skipped messages become ours. */
  async function takeOver(left: readonly string[]): Promise<void> {
    // Where each fork's group got to, read while we still skip its messages.
    const done = new Map<string, Map<string, bigint>>();
    for (const fork of left) done.set(fork, await forkOffsets(fork));
    // Synchronous from here: no message is handled between this decision and the seeks.
    const seeks = new Map<string, bigint>();
    for (const fork of left) {
      live.delete(fork);
      for (const [key, state] of partitions) {
        const skippedFrom = state.skippedFrom.get(fork);
        state.skippedFrom.delete(fork);
        const from = done.get(fork)?.get(key) ?? skippedFrom;
        if (from === undefined) continue;
        const target = plan(key, state, fork, from);
        const earlier = seeks.get(key);
        if (target !== undefined && (earlier === undefined || target < earlier)) {
          seeks.set(key, target);
        }
      }
    }
    for (const [key, offset] of seeks) seek(key, offset);
    for (const fork of left) if (!pending.has(fork)) settle(fork);
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(function refreshForks() {
      refresh()
        .catch(() => {
          // Keep the last known forks: a stale set only delays a takeover or duplicates a few
          // messages of a fork that just joined; the next refresh tries again.
        })
        .finally(schedule);
    }, refreshMs);
    timer.unref();
  }

  /** The second read of this partition has ended. */
  function endReplay(key: string, state: PartitionState): void {
    if (state.replay.size === 0) return;
    const forks = [...state.replay.keys()];
    state.replay.clear();
    for (const departed of forks) settle(departed, key);
  }

  /** Whether the baseline handles this message; records what it skips. */
  function decide(key: string, state: PartitionState, offset: bigint, fork: string | undefined) {
    if (offset < state.high) {
      // Read again after a takeover's seek: only a departed fork's messages we had skipped.
      state.seeking = false;
      const range = fork === undefined || live.has(fork) ? undefined : state.replay.get(fork);
      const handle = range !== undefined && offset >= range.from && offset < range.to;
      if (offset + 1n === state.high) endReplay(key, state);
      return handle;
    }
    // Past every range read again (a read of the current batch may still precede the seek).
    if (!state.seeking) endReplay(key, state);
    if (fork === undefined) return true;
    if (live.has(fork)) {
      if (!state.skippedFrom.has(fork)) state.skippedFrom.set(fork, offset);
      return false;
    }
    const done = state.doneBelow.get(fork);
    if (done === undefined) return true;
    if (offset < done) return false;
    state.doneBelow.delete(fork);
    return true;
  }

  /**
   * Forks whose group exists without members when the baseline starts may have left while no
   * baseline ran: their messages between their group's offsets and ours were skipped and never
   * handled. (A fork taken over by a running baseline has its group deleted afterwards.)
   */
  async function planRecovery(idle: ReadonlySet<string>): Promise<void> {
    recovery = new Map();
    if (idle.size === 0) return;
    const ours = new Map<string, bigint>();
    for (const topic of topics.keys()) {
      for (const [partition, offset] of await committed(admin, baseline, topic)) {
        ours.set(partitionKey(topic, partition), offset);
      }
    }
    for (const fork of idle) {
      for (const [key, from] of await forkOffsets(fork)) {
        const high = ours.get(key);
        if (high === undefined || from >= high) continue;
        const entry = recovery.get(key) ?? { high, ranges: new Map<string, bigint>() };
        entry.ranges.set(fork, from);
        recovery.set(key, entry);
      }
    }
  }

  wrapMethod(
    consumer,
    'run',
    (run) =>
      async function forkAwareRun(this: unknown, runConfig: unknown, ...rest: unknown[]) {
        const handler = eachMessageOf(runConfig);
        await connectAdmin();
        stopped = false;
        await planRecovery(await refresh());
        clearTimeout(timer);
        schedule();
        async function baselineEachMessage(this: unknown, payload: EachMessagePayload) {
          const { topic, partition, message } = payload;
          const key = partitionKey(topic, partition);
          const state = stateOf(key);
          const offset = BigInt(message.offset);
          const fork = forkIdOfMessage(message, trust);
          if (decide(key, state, offset, fork)) {
            await runWithForkId(fork, () => handler.call(this, payload));
          }
          // Only once handled: a handler that throws gets the message again as new.
          state.cursor = offset + 1n;
          if (offset >= state.high) state.high = offset + 1n;
        }
        return run.call(
          this,
          { ...(runConfig as object), eachMessage: baselineEachMessage },
          ...rest,
        );
      },
  );
  markWrapped(consumer);
  return consumer;
}

/**
 * The fork-aware form of `forkConsumer`: creates the consumer of group `config.groupId` for this
 * process's fork. See `forkConsumer`.
 */
export function forkAwareConsumer(kafka: unknown, config: unknown, options: unknown): Consumer {
  const checked = checkOptions(options, ['forkAware', 'forkId', 'refreshMs', 'trust']);
  if (checked.forkAware !== true) throw invalidOption('forkAware', checked.forkAware, 'true');
  const trust = checkTrust<Trust>(checked.trust, '(message) => boolean');
  const refreshMs = checkRefresh(checked.refreshMs);
  const own = ownFork(checked.forkId);
  const client = checkKafka(kafka);
  const groupId = (config as { groupId?: unknown } | null)?.groupId;
  if (
    config === null ||
    typeof config !== 'object' ||
    typeof groupId !== 'string' ||
    groupId === ''
  ) {
    throw invalidOption('groupId', groupId, 'a non-empty string');
  }
  const consumerConfig = config as ConsumerConfig;
  return own === undefined
    ? baselineWorker(client, consumerConfig, refreshMs, trust)
    : forkWorker(client, consumerConfig, own, trust);
}
