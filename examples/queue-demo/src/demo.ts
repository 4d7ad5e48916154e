// `pnpm demo:queue`: starts nats-server, service F (a child process consuming from NATS) and
// service E (node:http publishing to NATS), sends the demo requests to E and prints which fork E
// and F each saw. Exit code 0: every row as expected; 1: some row wrong (or the demo failed).
import { type ChildProcess, fork } from 'node:child_process';
import { request } from 'node:http';
import { configure, type InvalidReason } from '@kubefork/context';
import { forkNats } from '@kubefork/nats';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { QUEUE_CASES, type QueueCase } from './cases.js';
import { type ConsumerReport, type OrderEvent, SUBJECT } from './events.js';
import { type NatsServer, startNats } from './nats-server.js';
import { type ServiceE, startServiceE } from './service-e.js';

type Seen = Extract<ConsumerReport, { type: 'seen' }>;
type Invalid = { readonly value: string; readonly reason: InvalidReason };

interface Consumer {
  readonly seen: Map<number, Seen>;
  readonly invalid: Invalid[];
  stop(): Promise<void>;
}

/** Forks service F and resolves once it subscribed (its `ready`). */
function startConsumer(servers: string): Promise<Consumer> {
  const child: ChildProcess = fork(new URL('./service-f.js', import.meta.url), {
    env: { ...process.env, NATS_SERVERS: servers },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const seen = new Map<number, Seen>();
  const invalid: Invalid[] = [];
  async function stop(): Promise<void> {
    process.off('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  return new Promise((resolve, reject) => {
    child.on('message', (message: ConsumerReport) => {
      if (message.type === 'ready') resolve({ seen, invalid, stop });
      else if (message.type === 'seen') seen.set(message.request, message);
      else invalid.push({ value: message.value, reason: message.reason });
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`service F exited (${code}) before it was ready`)),
    );
  });
}

function send(url: string, headers: QueueCase['http']): Promise<{ fork: string | null }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as { fork: string | null });
        } catch (error) {
          reject(error);
        }
      });
    });
    req.once('error', reject);
    req.end();
  });
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

const show = (fork: string | null | undefined) =>
  fork === undefined ? '(not via E)' : (fork ?? '- (baseline)');

/** Lays out rows as left-aligned columns, two spaces apart. */
function formatColumns(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function main(): Promise<number> {
  let nats: NatsServer | undefined;
  let consumer: Consumer | undefined;
  let service: ServiceE | undefined;
  let nc: Awaited<ReturnType<typeof connect>> | undefined;
  let raw: Awaited<ReturnType<typeof connect>> | undefined;
  const stopAll = async () => {
    await service?.close();
    await nc?.close();
    await raw?.close();
    await consumer?.stop();
    await nats?.stop();
  };
  const interrupt = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: stopping`);
    stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  try {
    const eInvalid: Invalid[] = [];
    configure({ onInvalid: (value, reason) => eInvalid.push({ value, reason }) });
    nats = await startNats();
    consumer = await startConsumer(nats.servers);
    nc = forkNats(await connect({ servers: nats.servers, name: 'service-e' }));
    // Unwrapped: publishes a hand-made hostile message, as a sender outside the mesh could.
    raw = await connect({ servers: nats.servers, name: 'outsider' });
    service = await startServiceE(nc);
    console.log(
      `nats-server on ${nats.servers}; E (node:http + withForkContext, publishes through forkNats) on ${service.url};`,
    );
    console.log(
      `F (subscribes through forkNats) in its own process: E and F share nothing but NATS subject "${SUBJECT}".\n`,
    );

    const rows: string[][] = [['request', 'E saw', 'header on message', 'F saw', '']];
    const problems: string[] = [];
    for (const [index, queueCase] of QUEUE_CASES.entries()) {
      const wrong: string[] = [];
      const fInvalidBefore = consumer.invalid.length;
      const eInvalidBefore = eInvalid.length;
      let eFork: string | null | undefined;
      if (queueCase.http !== undefined) {
        eFork = (await send(`${service.url}/orders?request=${index}`, queueCase.http)).fork;
        if (eFork !== queueCase.e) wrong.push(`E saw ${show(eFork)}, want ${show(queueCase.e)}`);
      } else {
        const event: OrderEvent = { request: index };
        const h = natsHeaders();
        for (const [name, value] of Object.entries(queueCase.raw ?? {})) h.set(name, value);
        raw.publish(SUBJECT, JSON.stringify(event), { headers: h });
      }
      const seen = consumer.seen;
      const arrived = await waitFor(() => seen.has(index), 10_000);
      const f = seen.get(index);
      if (!arrived || f === undefined) wrong.push('F never saw the event');
      else if (f.fork !== queueCase.f)
        wrong.push(`F saw ${show(f.fork)}, want ${show(queueCase.f)}`);
      const told =
        queueCase.invalid?.by === 'F'
          ? consumer.invalid.slice(fInvalidBefore)
          : eInvalid.slice(eInvalidBefore);
      const want = queueCase.invalid;
      if (want !== undefined && !told.some((t) => t.reason === want.reason)) {
        wrong.push(`${want.by}'s onInvalid was not told "${want.reason}"`);
      }
      const others = [...consumer.invalid.slice(fInvalidBefore), ...eInvalid.slice(eInvalidBefore)];
      if (want === undefined && others.length > 0) {
        wrong.push(`unexpected onInvalid: ${others.map((t) => t.reason).join(', ')}`);
      }
      rows.push([
        queueCase.label,
        show(eFork),
        f?.header ?? '-',
        f === undefined ? '✗ (nothing)' : show(f.fork),
        wrong.length === 0 ? '✓' : '✗',
      ]);
      for (const problem of wrong) problems.push(`${queueCase.label}: ${problem}`);
    }
    console.log(formatColumns(rows));
    console.log('');
    if (problems.length === 0) {
      console.log(
        `All ${QUEUE_CASES.length} events: F handled each in the fork of the request that caused it.`,
      );
      console.log(
        '(Invalid values: E\'s and F\'s onInvalid were told "pattern"; handled as baseline.)',
      );
      return 0;
    }
    console.log(`${problems.length} problem(s):`);
    for (const problem of problems) console.log(`  ${problem}`);
    return 1;
  } finally {
    await stopAll();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    console.error(`queue demo failed: ${error.message}`);
    process.exitCode = 1;
  },
);
