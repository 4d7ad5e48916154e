// Shared pieces of the conformance table: what a server row observes, how a request sends its
// headers, and the gRPC probe service (JSON messages, no .proto file).
import { setImmediate as immediate, setTimeout as sleep } from 'node:timers/promises';
import {
  Metadata,
  type MethodDefinition,
  makeGenericClientConstructor,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { getForkId, type InvalidReason } from '@kubefork/context';

/** A fork as a test sees it: `null` is baseline (JSON has no undefined). */
export type Fork = string | null;

export function fork(): Fork {
  return getForkId() ?? null;
}

/** Request headers as the tests write them; an array is sent as repeated header lines. */
export type Headers = Readonly<Record<string, string | readonly string[]>>;

/**
 * What a server row's handler saw for one request: the fork synchronously in the handler, after
 * `await`, in timers, and (for rows with a body) in the body's `'data'`/`'end'` listeners.
 */
export interface Observation {
  sync: Fork;
  afterAwait: Fork;
  timeout: Fork;
  immediate: Fork;
  /** The fork in each `'data'` listener call; absent for rows without a request body. */
  data?: Fork[];
  end?: Fork;
}

/** Two body chunks, the second sent after a pause so it arrives outside the handler's turn. */
export const BODY_CHUNKS = ['first,', 'second'] as const;
export const BODY_DELAY_MS = 15;

/**
 * Subscribes to `'data'`/`'end'` of `body` now (synchronously, in the handler) and resolves
 * with the fork each listener ran in.
 */
export function observeBody(body: {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}): Promise<{ data: Fork[]; end: Fork }> {
  const data: Fork[] = [];
  return new Promise((resolve, reject) => {
    body.on('data', () => data.push(fork()));
    body.on('end', () => resolve({ data, end: fork() }));
    body.on('error', reject);
  });
}

/** The rest of an observation, taken after the handler's synchronous part. */
export async function observeLater(): Promise<
  Pick<Observation, 'afterAwait' | 'timeout' | 'immediate'>
> {
  await sleep(2);
  await Promise.resolve();
  const afterAwait = fork();
  const timeout = await new Promise<Fork>((resolve) => setTimeout(() => resolve(fork()), 2));
  const immediateFork = await new Promise<Fork>((resolve) => setImmediate(() => resolve(fork())));
  await immediate();
  return { afterAwait, timeout, immediate: immediateFork };
}

/** What a client row's echo server received: every value of our header and of `baggage`. */
export interface Echo {
  header: string[];
  baggage: string[];
}

/** The raw header lines named `name` (case-insensitive) of a `rawHeaders` array. */
export function rawValues(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === name) values.push(rawHeaders[i + 1] ?? '');
  }
  return values;
}

/** Every value of every invalid inbound report, in order; reset by each test. */
export const invalid: Array<{ value: string; reason: InvalidReason }> = [];

/** `count` distinct fork ids. */
export function forkIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `fork-${String(i).padStart(3, '0')}`);
}

// --- gRPC probe service ------------------------------------------------------------------------

function serialize(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function deserialize(bytes: Buffer): unknown {
  return JSON.parse(bytes.toString('utf8'));
}

function method(name: string, requestStream: boolean, responseStream: boolean) {
  return {
    path: `/kubefork.conformance.Probe/${name}`,
    requestStream,
    responseStream,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
    originalName: name.charAt(0).toLowerCase() + name.slice(1),
  } satisfies MethodDefinition<unknown, unknown>;
}

export const probeService = {
  unary: method('Unary', false, false),
  clientStream: method('ClientStream', true, false),
  serverStream: method('ServerStream', false, true),
  bidi: method('Bidi', true, true),
} satisfies ServiceDefinition;

export const ProbeClient = makeGenericClientConstructor(probeService, 'Probe');

/** Metadata with every header of `headers` (arrays as repeated entries). */
export function metadataOf(headers: Headers): Metadata {
  const metadata = new Metadata();
  for (const [name, value] of Object.entries(headers)) {
    for (const one of typeof value === 'string' ? [value] : value) metadata.add(name, one);
  }
  return metadata;
}
