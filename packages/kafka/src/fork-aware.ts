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
  /** Forks whose skipped range here has been planned for a second read (or found handled). */
  readonly taken: Set<string>;
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
 *
 * What a member remembers does not survive a rebalance of the baseline group (a partition may move,
 * and a seek KafkaJS has not applied yet stays with the partition's former owner). The durable
 * record is the two groups' committed offsets: the departed fork's group says from where its
 * messages may be unhandled, the baseline's up to where they were read. So on every join each
 * member reads that range again for every idle fork group, on the partitions it now owns, and a
 * fork's group is deleted only once the baseline group has committed, on every partition, past
 * what the topic held after every member had planned its second read, with no rebalance since.
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
  /** Fork → the timer of its group's deletion (see `retire`). */
  const retiring = new Map<string, { timer?: NodeJS.Timeout }>();
  const connectAdmin = withAdmin(consumer, admin, () => {
    stopped = true;
    clearTimeout(timer);
    for (const { timer: pending } of retiring.values()) clearTimeout(pending);
    retiring.clear();
  });

  /** The partitions of the last join, and how many joins there have been. */
  let assigned = new Set<string>();
  let joins = 0;
  /** This member's id at the last join. */
  let memberId: string | undefined;
  /** Idle fork groups must be read again since the last join (cleared once that has been planned). */
  let recoverIdle = false;

  function stateOf(key: string): PartitionState {
    let state = partitions.get(key);
    if (state === undefined) {
      state = {
        high: 0n,
        cursor: 0n,
        skippedFrom: new Map(),
        replay: new Map(),
        doneBelow: new Map(),
        taken: new Set(),
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
  function plan(state: PartitionState, fork: string, from: bigint) {
    state.taken.add(fork);
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
    return target;
  }

  /** The baseline group's committed offsets, by partition key, over the subscribed topics. */
  async function ourOffsets(): Promise<Map<string, bigint>> {
    const byKey = new Map<string, bigint>();
    for (const topic of topics.keys()) {
      for (const [partition, offset] of await committed(admin, baseline, topic)) {
        byKey.set(partitionKey(topic, partition), offset);
      }
    }
    return byKey;
  }

  /**
   * Deletes `fork`'s idle group once nothing can need it: after two refreshes and a second (every
   * member has seen the fork leave and planned its second reads, or read the group's offsets at
   * its join), the topic's end offsets are noted; the group goes once the baseline group has
   * committed past them on every partition, with no rebalance meanwhile (a rebalance reads the
   * group's range again, see `baselineJoined`, and starts over). A seek commits its earlier
   * offset, so the baseline's offsets can only pass those ends once the second reads are past
   * them. The broker refuses if the fork came back meanwhile.
   */
  function retire(fork: string): void {
    clearTimeout(retiring.get(fork)?.timer);
    const generation = joins;
    const token: { timer?: NodeJS.Timeout } = {};
    retiring.set(fork, token);
    let ends: Map<string, bigint> | undefined;
    let members = '';
    const current = () =>
      !stopped &&
      !live.has(fork) &&
      joins === generation &&
      !recoverIdle &&
      retiring.get(fork) === token;
    async function step(): Promise<boolean> {
      if (!current()) return true;
      // A member that left (or joined) may not have read the group's range again: only a stable
      // baseline group with the members it had when the ends were noted counts.
      const { groups } = await admin.describeGroups([baseline]);
      const group = groups[0];
      if (group?.state !== 'Stable') return false;
      const ids = group.members
        .map(({ memberId }) => memberId)
        .sort()
        .join(' ');
      if (ends === undefined) {
        members = ids;
        const noted = new Map<string, bigint>();
        for (const topic of topics.keys()) {
          for (const { partition, high } of await admin.fetchTopicOffsets(topic)) {
            noted.set(partitionKey(topic, partition), BigInt(high));
          }
        }
        ends = noted;
        return false;
      }
      if (ids !== members) {
        ends = undefined;
        return false;
      }
      // Done where the baseline group has committed past the end, or the fork's group had (the
      // fork handled everything there; e.g. a partition the baseline has read nothing of).
      const [ours, theirs] = await Promise.all([ourOffsets(), forkOffsets(fork)]);
      for (const [key, end] of ends) {
        if (end > 0n && (ours.get(key) ?? 0n) < end && (theirs.get(key) ?? 0n) < end) return false;
      }
      if (!current()) return true;
      await admin.deleteGroups([forkGroupId(baseline, fork)]);
      if (retiring.get(fork) === token) retiring.delete(fork);
      return true;
    }
    function later(ms: number): void {
      token.timer = setTimeout(function retireForkGroup() {
        step()
          .catch(() => false) // Back already, gone already, or the broker is unreachable: retry.
          .then((finished) => {
            if (!finished && current()) later(refreshMs);
          });
      }, ms);
      token.timer.unref();
    }
    later(2 * refreshMs + 1_000);
  }

  consumer.on(consumer.events.GROUP_JOIN, function baselineJoined(event: ConsumerGroupJoinEvent) {
    // What this member knew of a partition is stale unless it owned it in the previous generation
    // too, as the same member (then nobody else did in between): the others start afresh, and idle fork groups'
    // ranges are read again on them.
    joins++;
    const previous = assigned;
    assigned = new Set();
    for (const [topic, list] of Object.entries(event.payload.memberAssignment)) {
      for (const partition of list) assigned.add(partitionKey(topic, partition));
    }
    // A member dropped from a generation (its session expired) rejoins under a new member id.
    const consecutive = event.payload.memberId === memberId;
    memberId = event.payload.memberId;
    for (const key of partitions.keys()) {
      if (!consecutive || !previous.has(key) || !assigned.has(key)) partitions.delete(key);
    }
    recoverIdle = true;
    refreshNow();
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

  async function refresh(): Promise<void> {
    const generation = joins;
    const again = recoverIdle;
    const { live: now, idle } = await forkGroups();
    for (const fork of now) {
      live.add(fork);
      // Skipped again from now on: a later departure needs a second read again.
      for (const state of partitions.values()) state.taken.delete(fork);
    }
    const left = new Set([...live].filter((fork) => !now.has(fork)));
    if (again) for (const fork of idle) left.add(fork);
    if (left.size > 0 && !(await takeOver([...left], generation))) return;
    if (again && joins === generation) recoverIdle = false;
  }

  let refreshing: Promise<void> = Promise.resolve();
  /** Refreshes after any refresh under way; a failed one keeps the last known forks. */
  function refreshNow(): Promise<void> {
    refreshing = refreshing.then(refresh).catch(() => {
      // Keep the last known forks: a stale set only delays a takeover or duplicates a few
      // messages of a fork that just joined; the next refresh tries again (after a join too).
    });
    return refreshing;
  }

  /**
   * The forks in `left` have no live group (they left, or are idle groups found at a join): their
   * skipped messages become ours, from their group's offsets up to where the baseline group has
   * read (its committed offset, or further where this member has read further). False when a
   * rebalance came in between (the join's refresh takes over instead).
   */
  async function takeOver(left: readonly string[], generation: number): Promise<boolean> {
    // Where each fork's group got to, read while we still skip its messages; and ours.
    const done = new Map<string, Map<string, bigint>>();
    for (const fork of left) done.set(fork, await forkOffsets(fork));
    const ours = await ourOffsets();
    if (joins !== generation || stopped) return false;
    // Synchronous from here: no message is handled between this decision and the seeks.
    const seeks = new Map<string, bigint>();
    for (const fork of left) {
      live.delete(fork);
      for (const key of assigned) {
        const state = stateOf(key);
        // Already planned here, by this member, since the fork was last live.
        if (state.taken.has(fork)) continue;
        const skippedFrom = state.skippedFrom.get(fork);
        state.skippedFrom.delete(fork);
        const from = done.get(fork)?.get(key) ?? skippedFrom;
        if (from === undefined) continue;
        // Read by a former owner of the partition (or by us before the last join).
        const read = ours.get(key);
        if (read !== undefined && read > state.high) {
          state.high = read;
          state.cursor = read;
        }
        const target = plan(state, fork, from);
        const earlier = seeks.get(key);
        if (target !== undefined && (earlier === undefined || target < earlier)) {
          seeks.set(key, target);
        }
      }
    }
    for (const [key, offset] of seeks) seek(key, offset);
    for (const fork of left) retire(fork);
    return true;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(function refreshForks() {
      refreshNow().finally(schedule);
    }, refreshMs);
    timer.unref();
  }

  /** Whether the baseline handles this message; records what it skips. */
  function decide(state: PartitionState, offset: bigint, fork: string | undefined) {
    if (offset < state.high) {
      // Read again after a takeover's seek: only a departed fork's messages we had skipped.
      state.seeking = false;
      const range = fork === undefined || live.has(fork) ? undefined : state.replay.get(fork);
      const handle = range !== undefined && offset >= range.from && offset < range.to;
      if (offset + 1n === state.high) state.replay.clear();
      return handle;
    }
    // Past every range read again (a read of the current batch may still precede the seek).
    if (!state.seeking) state.replay.clear();
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

  wrapMethod(
    consumer,
    'run',
    (run) =>
      async function forkAwareRun(this: unknown, runConfig: unknown, ...rest: unknown[]) {
        const handler = eachMessageOf(runConfig);
        await connectAdmin();
        stopped = false;
        await refreshNow();
        clearTimeout(timer);
        schedule();
        async function baselineEachMessage(this: unknown, payload: EachMessagePayload) {
          const { topic, partition, message } = payload;
          const state = stateOf(partitionKey(topic, partition));
          const offset = BigInt(message.offset);
          const fork = forkIdOfMessage(message, trust);
          if (decide(state, offset, fork)) {
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
