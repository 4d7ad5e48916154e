// A real Apache Kafka broker for the broker suites: one combined broker + controller in KRaft
// mode on free loopback ports, from the release jars that .ci/brokers/install-kafka.sh resolves
// from Maven Central, run with the machine's Java. One per test file (start in beforeAll): a JVM
// takes seconds to start.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

export interface KafkaBroker {
  /** `127.0.0.1:<port>`, for `new Kafka({ brokers: [broker.address] })`. */
  readonly address: string;
  /** Milliseconds from spawning the JVM until a KafkaJS admin could describe the cluster. */
  readonly startMs: number;
  /** The broker's process id, to check that `stop` left nothing behind. */
  readonly pid: number;
  /** A KafkaJS client for this broker (quiet logs). */
  client(clientId?: string): Kafka;
  /** Creates topics (one partition each unless told). */
  createTopics(topics: readonly string[], numPartitions?: number): Promise<void>;
  /** SIGTERM, then SIGKILL after 10 s; removes the data directory. */
  stop(): Promise<void>;
}

/** The jars: `KUBEFORK_KAFKA_LIBS`, or whatever install-kafka.sh prints (cached after the first run). */
export async function kafkaLibs(): Promise<string> {
  const fromEnv = process.env.KUBEFORK_KAFKA_LIBS;
  if (fromEnv) return fromEnv;
  const { stdout } = await run('bash', [join(root, '.ci/brokers/install-kafka.sh')], {
    maxBuffer: 1024 * 1024,
  });
  return stdout.trim().split('\n').pop() ?? '';
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A Kafka cluster id: 16 random bytes, base64url; not starting with '-' (CLI flag confusion). */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

const LOG4J = `status = warn
appender.console.type = Console
appender.console.name = STDERR
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = STDERR
`;

const JVM = ['-Xmx512m', '-Xms64m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];

/**
 * `sh -c WATCHDOG name <parent pid> <command…>`: runs the command, forwards SIGTERM/SIGINT to
 * it, stops it when the parent process is gone, and exits when it does.
 */
const WATCHDOG = `parent=$1; shift
"$@" &
child=$!
trap 'kill -TERM $child 2>/dev/null' TERM INT
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1 & wait $!; done
kill -TERM "$child" 2>/dev/null
wait "$child"`;

/** Starts a broker; rejects (with the broker's output) when it is not ready within `timeoutMs`. */
export async function startKafka(timeoutMs = 90_000): Promise<KafkaBroker> {
  const libs = await kafkaLibs();
  const dir = mkdtempSync(join(tmpdir(), 'kubefork-kafka-'));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const address = `127.0.0.1:${port}`;
  const properties = join(dir, 'server.properties');
  writeFileSync(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://${address},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://${address}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'num.partitions=1',
      'auto.create.topics.enable=true',
      // One broker: every internal topic with one replica and one partition (faster start).
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'log4j2.properties'), LOG4J);
  const java = [...JVM, `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`];
  const classpath = ['-cp', `${libs}/*`];
  try {
    await run(
      'java',
      [
        ...java,
        ...classpath,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId(),
        '-c',
        properties,
      ],
      { maxBuffer: 4 * 1024 * 1024 },
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const started = Date.now();
  // The JVM runs under a small shell watchdog in its own process group: `stop` signals the whole
  // group, and when this process dies without stopping it (a killed test worker, a ^C'd bench)
  // the watchdog sees its parent gone and stops the broker, so no JVM is left behind.
  const child: ChildProcess = spawn(
    'sh',
    [
      '-c',
      WATCHDOG,
      'kafka-watchdog',
      String(process.pid),
      'java',
      ...java,
      ...classpath,
      'kafka.Kafka',
      properties,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = once(child, 'exit');
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  // A test runner that exits without `stop` must not leave a JVM behind.
  const killOnExit = () => signalGroup('SIGKILL');
  process.once('exit', killOnExit);

  async function stop(): Promise<void> {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  }

  function client(clientId = 'kubefork-test'): Kafka {
    return new Kafka({
      clientId,
      brokers: [address],
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 100 },
    });
  }

  async function createTopics(topics: readonly string[], numPartitions = 1): Promise<void> {
    const admin = client('kubefork-test-admin').admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: topics.map((topic) => ({ topic, numPartitions, replicationFactor: 1 })),
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
  }

  const deadline = started + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`kafka exited before it was ready (${child.exitCode}):\n${output}`);
    }
    const admin = new Kafka({
      clientId: 'kubefork-test-probe',
      brokers: [address],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 500,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      await admin.disconnect();
      break;
    } catch {
      await admin.disconnect().catch(() => {});
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`kafka not ready after ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  const startMs = Date.now() - started;
  return { address, startMs, pid: child.pid ?? -1, client, createTopics, stop };
}
