// A real RabbitMQ for the broker suites: Debian's `rabbitmq-server` (installed by
// .ci/brokers/install-rabbitmq-nats.sh), started on free loopback ports with its data, logs and
// Erlang cookie in a temporary directory, and its own epmd, all removed by `stop()`. Erlang
// starts slowly (~10 s): start one broker per test file, in `beforeAll`.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';

export interface RabbitMq {
  /** `amqp://guest:guest@127.0.0.1:<port>` (guest may log in from loopback). */
  readonly url: string;
  stop(): Promise<void>;
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts a RabbitMQ node and resolves once it accepts AMQP connections. */
export async function startRabbitMq(): Promise<RabbitMq> {
  if (!existsSync(SERVER)) {
    throw new Error(
      `${SERVER} is missing: install RabbitMQ with .ci/brokers/install-rabbitmq-nats.sh`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'kubefork-rabbitmq-'));
  const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
  // No plugins (the management plugin would add seconds and ports); no config files from /etc.
  await writeFile(join(dir, 'enabled_plugins'), '[].\n');
  await writeFile(join(dir, 'rabbitmq-env.conf'), '');
  const env = {
    ...process.env,
    HOME: dir,
    RABBITMQ_NODENAME: `kf${process.pid}x${port}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
  };
  const output = join(dir, 'output.log');
  // Its own process group, so that stop() reaches the shell wrapper and the Erlang VM alike.
  const child = spawn('/bin/sh', ['-c', `exec ${SERVER} >"${output}" 2>&1`], {
    env,
    detached: true,
    stdio: 'ignore',
  });

  // A test run that dies without afterAll must not leave a broker behind.
  const killOnExit = () => {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  };
  process.once('exit', killOnExit);

  async function stop(): Promise<void> {
    process.off('exit', killOnExit);
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(-child.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }, 15_000);
      await exited(child);
      clearTimeout(timer);
    }
    // Erlang leaves its port mapper daemon running; this one is ours alone.
    await promisify(execFile)('epmd', ['-kill'], { env }).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }

  const deadline = Date.now() + 90_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const log = await readFile(output, 'utf8').catch(() => '');
      await stop();
      throw new Error(`RabbitMQ did not start on 127.0.0.1:${port}:\n${log.slice(-3000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { url: `amqp://guest:guest@127.0.0.1:${port}`, stop };
}
