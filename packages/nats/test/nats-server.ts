// A real NATS server with JetStream for the broker suites: Debian's `nats-server` (installed by
// .ci/brokers/install-rabbitmq-nats.sh) on a free loopback port, its JetStream store in a
// temporary directory, both removed by `stop()`.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServer {
  readonly port: number;
  /** `127.0.0.1:<port>`, for `connect({ servers })`. */
  readonly servers: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
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

export async function startNats(): Promise<NatsServer> {
  const dir = await mkdtemp(join(tmpdir(), 'kubefork-nats-'));
  const port = await freePort();
  let output = '';
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  async function stop(): Promise<void> {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited(child);
    }
    await rm(dir, { recursive: true, force: true });
  }

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (await accepts(port)) break;
    const failed = await Promise.race([spawnError, new Promise((r) => setTimeout(r, 100))]);
    if (failed instanceof Error || child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(
        `nats-server did not start on 127.0.0.1:${port} (install it with .ci/brokers/install-rabbitmq-nats.sh): ${
          failed instanceof Error ? failed.message : output.slice(-2000)
        }`,
      );
    }
  }
  return { port, servers: `127.0.0.1:${port}`, stop };
}
