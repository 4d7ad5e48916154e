// Debian's `nats-server` on a free loopback port for the demo: core NATS only (no JetStream, so
// no store directory), started in well under a second and stopped by `stop()` or at exit.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, Socket } from 'node:net';

export interface NatsServer {
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
  const port = await freePort();
  let output = '';
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  // A demo killed by an uncaught error must not leave a broker behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  async function stop(): Promise<void> {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited(child);
    }
  }

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (await accepts(port)) break;
    const failed = await Promise.race([spawnError, new Promise((r) => setTimeout(r, 50))]);
    if (failed instanceof Error || child.exitCode !== null || Date.now() > deadline) {
      await stop();
      const why = failed instanceof Error ? failed.message : output;
      throw new Error(
        `nats-server did not start on 127.0.0.1:${port} (Debian: apt-get install nats-server, or .ci/brokers/install-rabbitmq-nats.sh): ${why}`,
      );
    }
  }
  return { servers: `127.0.0.1:${port}`, stop };
}
