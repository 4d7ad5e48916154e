// HTTP/2 hop, one process: load session → A (node:http2 'stream' listener) → HTTP/2 session →
// B (node:http2), every request a POST with a small body, 32 in flight on one session each way.
// The load always sends `x-fork-identifier: f<n>` (50 distinct forks), as a mesh would.
//
//   bare      A's listener as is, nothing installed: the fork stops at A
//   minimum   A copies the inbound header onto its outbound request by hand (header only, no
//             context, no baggage): the least any propagation costs
//   kubefork  A's listener wrapped by withForkStream and instrumentHttp() installed: A reads the
//             fork and re-emits it (header and baggage) to B, checked on every request
//
// Rounds are interleaved (bare, kubefork, bare, …) because the machines are noisy; the table
// gives the median round in CPU ns per request (the whole hop: load, A and B) and the ratio to
// bare.
//
//   pnpm bench h2                            # from the repository root (builds first)
//   node --import tsx h2.bench.ts            # this file only (from bench/, after `pnpm build`)

import { once } from 'node:events';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { instrumentHttp, withForkStream } from '@kubefork/http';
import { printTable } from './support/table.js';

const QUICK = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 5));
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? (QUICK ? 500 : 20_000));
const IN_FLIGHT = 32;

type Variant = 'bare' | 'minimum' | 'kubefork';
const VARIANTS: Variant[] = ['bare', 'minimum', 'kubefork'];

async function listen(server: http2.Http2Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Sends one request on `session` and resolves with the whole answer. */
function call(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders) {
  return new Promise<string>((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ...headers });
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      body += chunk;
    });
    stream.on('end', () => resolve(body));
    stream.on('error', reject);
    stream.end('{"item":42}');
  });
}

// B answers the fork header it received, so every request checks that the fork arrived.
const b = http2.createServer();
b.on('stream', (stream, headers) => {
  stream.resume();
  stream.on('end', () => {
    stream.respond({ ':status': 200 });
    stream.end(String(headers['x-fork-identifier'] ?? '-'));
  });
});
const toB = http2.connect(await listen(b));

function handler(stream: http2.ServerHttp2Stream, forward: http2.OutgoingHttpHeaders = {}): void {
  stream.resume();
  stream.on('end', async () => {
    const answer = await call(toB, { ':path': '/b', ...forward });
    stream.respond({ ':status': 200 });
    stream.end(answer);
  });
}

const a = http2.createServer();
let variant: Variant = 'bare';
const wrapped = withForkStream(handler);
a.on(
  'stream',
  (
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    flags: number,
    rawHeaders: string[],
  ) => {
    if (variant === 'bare') handler(stream);
    else if (variant === 'minimum')
      handler(stream, { 'x-fork-identifier': headers['x-fork-identifier'] ?? '' });
    else wrapped.call(a, stream, headers, flags, rawHeaders);
  },
);
const toA = http2.connect(await listen(a));

/**
 * Runs REQUESTS requests, IN_FLIGHT at a time; returns this process's CPU time (user + system)
 * per request in ns. Load, A and B all run here, so that is the whole cost, and on a shared
 * machine it is far steadier than wall time.
 */
async function round(which: Variant): Promise<number> {
  variant = which;
  const uninstall = which === 'kubefork' ? instrumentHttp() : () => {};
  let next = 0;
  let wrong = 0;
  const worker = async () => {
    while (next < REQUESTS) {
      const i = next++;
      const fork = `f${i % 50}`;
      const answer = await call(toA, { 'x-fork-identifier': fork });
      if (answer !== (which === 'bare' ? '-' : fork)) wrong++;
    }
  };
  const start = process.cpuUsage();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const used = process.cpuUsage(start);
  const elapsed = (used.user + used.system) * 1000;
  uninstall();
  if (wrong > 0) throw new Error(`h2 bench: ${wrong} answers of ${which} carried the wrong fork`);
  return elapsed / REQUESTS;
}

for (const which of VARIANTS) await round(which); // warm-up
const samples: Record<Variant, number[]> = { bare: [], minimum: [], kubefork: [] };
for (let i = 0; i < ROUNDS; i++) {
  for (const which of VARIANTS) samples[which].push(await round(which));
}

printTable({
  title: `HTTP/2 hop in one process: load → A (node:http2) → B (node:http2), ${REQUESTS} POSTs, ${IN_FLIGHT} in flight, CPU ns per request (Node ${process.versions.node}, ${ROUNDS} interleaved rounds, median)`,
  baseline: { name: 'bare', samples: samples.bare },
  rows: [
    { name: 'minimum (header copied by hand)', samples: samples.minimum },
    { name: 'kubefork (withForkStream + instrumentHttp)', samples: samples.kubefork },
  ],
});

toA.close();
toB.close();
a.close();
b.close();
