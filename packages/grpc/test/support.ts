// Test support: a JSON-encoded probe service with one method per call type, a real grpc-js
// server on 127.0.0.1:0, and promise helpers for every call type.
import { setImmediate as macrotask } from 'node:timers/promises';
import {
  type CallOptions,
  type ChannelOptions,
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ClientWritableStream,
  ServerCredentials as Credentials,
  credentials,
  type handleBidiStreamingCall,
  type handleClientStreamingCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
  Metadata,
  type MethodDefinition,
  makeGenericClientConstructor,
  type requestCallback,
  Server,
  type ServerCredentials,
  type ServerOptions,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { getForkId } from '@kubefork/context';
import { type ForkServerOptions, forkServerInterceptor, withForkHandlers } from '../src/index.js';

export type Json = unknown;

function serialize(value: Json): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function deserialize(bytes: Buffer): Json {
  return JSON.parse(bytes.toString('utf8'));
}

function method(name: string, requestStream: boolean, responseStream: boolean) {
  return {
    path: `/kubefork.test.Probe/${name}`,
    requestStream,
    responseStream,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
    originalName: name.charAt(0).toLowerCase() + name.slice(1),
  } satisfies MethodDefinition<Json, Json>;
}

/** A hand-written service definition: no .proto file, messages are JSON. */
export const probeService = {
  unary: method('Unary', false, false),
  clientStream: method('ClientStream', true, false),
  serverStream: method('ServerStream', false, true),
  bidi: method('Bidi', true, true),
};

export const CALL_TYPES = ['unary', 'clientStream', 'serverStream', 'bidi'] as const;
export type CallType = (typeof CALL_TYPES)[number];

/** The generated client's methods, typed (makeGenericClientConstructor types them as Function). */
export interface ProbeClient extends Client {
  unary(request: Json, metadata: Metadata, callback: requestCallback<Json>): ClientUnaryCall;
  clientStream(metadata: Metadata, callback: requestCallback<Json>): ClientWritableStream<Json>;
  serverStream(request: Json, metadata: Metadata): ClientReadableStream<Json>;
  bidi(metadata: Metadata): ClientDuplexStream<Json, Json>;
}

const ProbeClientConstructor = makeGenericClientConstructor(probeService, 'Probe');

export function probeClient(port: number, options?: ChannelOptions & CallOptions): ProbeClient {
  return new ProbeClientConstructor(
    `127.0.0.1:${port}`,
    credentials.createInsecure(),
    options,
  ) as unknown as ProbeClient;
}

/** The server side of one test: the port and a way to stop it. */
export interface RunningServer {
  readonly port: number;
  close(): void;
}

export async function startServer(
  implementation: UntypedServiceImplementation,
  options: ServerOptions = {},
  serverCredentials: ServerCredentials = Credentials.createInsecure(),
): Promise<RunningServer> {
  const server = new Server(options);
  server.addService(probeService, implementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', serverCredentials, (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  return { port, close: () => server.forceShutdown() };
}

/** The two ways of running a server in forks; every context guarantee holds for both. */
export const SERVER_SETUPS = [
  {
    name: 'forkServerInterceptor',
    start: (implementation: UntypedServiceImplementation, options?: ForkServerOptions) =>
      startServer(implementation, { interceptors: [forkServerInterceptor(options)] }),
  },
  {
    name: 'withForkHandlers',
    start: (implementation: UntypedServiceImplementation, options?: ForkServerOptions) =>
      startServer(withForkHandlers(implementation, options)),
  },
] as const;

/** Metadata with the given entries added in order (keys as written, values as given). */
export function metadataOf(...entries: [string, string | Buffer][]): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of entries) metadata.add(key, value);
  return metadata;
}

// ---- client helpers: one promise per call type -------------------------------------------

export function unary(
  client: ProbeClient,
  request: Json,
  metadata = new Metadata(),
): Promise<Json> {
  return new Promise((resolve, reject) => {
    client.unary(request, metadata, (error, reply) => (error ? reject(error) : resolve(reply)));
  });
}

export function clientStream(
  client: ProbeClient,
  messages: readonly Json[],
  metadata = new Metadata(),
): Promise<Json> {
  return new Promise((resolve, reject) => {
    const call = client.clientStream(metadata, (error, reply) =>
      error ? reject(error) : resolve(reply),
    );
    void (async () => {
      // One message per macrotask, so that each arrives in its own DATA frame and event.
      for (const message of messages) {
        call.write(message);
        await macrotask();
      }
      call.end();
    })();
  });
}

export async function serverStream(
  client: ProbeClient,
  request: Json,
  metadata = new Metadata(),
): Promise<Json[]> {
  const replies: Json[] = [];
  for await (const reply of client.serverStream(request, metadata)) replies.push(reply);
  return replies;
}

/** Ping-pong: writes each message and waits for its reply, then ends and drains the rest. */
export async function bidi(
  client: ProbeClient,
  messages: readonly Json[],
  metadata = new Metadata(),
): Promise<Json[]> {
  const call = client.bidi(metadata);
  const replies = call[Symbol.asyncIterator]();
  const received: Json[] = [];
  for (const message of messages) {
    call.write(message);
    const next = await replies.next();
    if (next.done) break;
    received.push(next.value);
  }
  call.end();
  for (let next = await replies.next(); !next.done; next = await replies.next()) {
    received.push(next.value);
  }
  return received;
}

/** Makes one call of `type` with `messages` as the request(s); replies flattened to an array. */
export async function callOfType(
  type: CallType,
  client: ProbeClient,
  messages: readonly Json[],
  metadata = new Metadata(),
): Promise<Json[]> {
  switch (type) {
    case 'unary':
      return [await unary(client, messages[0] ?? {}, metadata)].flat();
    case 'clientStream':
      return [await clientStream(client, messages, metadata)].flat();
    case 'serverStream':
      return serverStream(client, messages[0] ?? {}, metadata);
    case 'bidi':
      return bidi(client, messages, metadata);
  }
}

// ---- observing service: records getForkId() at every point a handler can run ---------------

/** Where a handler looked and what `getForkId()` said there (`null` for no fork). */
export interface Observation {
  point: 'start' | 'await' | 'timer' | 'data' | 'end' | 'late-data' | 'late-end';
  fork: string | null;
}

export function observe(point: Observation['point']): Observation {
  return { point, fork: getForkId() ?? null };
}

/** What a handler sees after an `await` of a macrotask and inside a timer it started. */
async function asynchronously(): Promise<Observation[]> {
  await macrotask();
  const afterAwait = observe('await');
  const inTimer = await new Promise<Observation>((resolve) => {
    setTimeout(() => resolve(observe('timer')), 2);
  });
  return [afterAwait, inTimer];
}

/** Records 'data' and 'end'; when `late`, only after an await, so buffered messages flow later. */
function readAll(
  call: NodeJS.ReadableStream,
  late: boolean,
  onData?: (observation: Observation) => void,
): Promise<Observation[]> {
  return new Promise((resolve, reject) => {
    const seen: Observation[] = [];
    const listen = () => {
      call.on('data', () => {
        const seen1 = observe(late ? 'late-data' : 'data');
        seen.push(seen1);
        onData?.(seen1);
      });
      call.on('end', () => {
        seen.push(observe(late ? 'late-end' : 'end'));
        resolve(seen);
      });
      call.on('error', reject);
    };
    if (late) void macrotask().then(listen);
    else listen();
  });
}

function wantsLate(metadata: Metadata): boolean {
  return metadata.get('x-test-late').length > 0;
}

const observeUnary: handleUnaryCall<Json, Json> = async (_call, callback) => {
  const start = observe('start');
  callback(null, [start, ...(await asynchronously())]);
};

const observeClientStream: handleClientStreamingCall<Json, Json> = (call, callback) => {
  const start = observe('start');
  void Promise.all([asynchronously(), readAll(call, wantsLate(call.metadata))]).then(
    ([later, stream]) => callback(null, [start, ...later, ...stream]),
    (error: Error) => callback(error),
  );
};

const observeServerStream: handleServerStreamingCall<Json, Json> = async (call) => {
  call.write(observe('start'));
  for (const observation of await asynchronously()) call.write(observation);
  call.end();
};

/** Echoes one observation per 'data' event right away (ping-pong), the rest at the end. */
const observeBidi: handleBidiStreamingCall<Json, Json> = (call) => {
  const start = observe('start');
  void Promise.all([
    asynchronously(),
    readAll(call, wantsLate(call.metadata), (observation) => call.write(observation)),
  ]).then(
    ([later, stream]) => {
      for (const observation of [
        start,
        ...later,
        ...stream.filter((o) => !o.point.endsWith('data')),
      ]) {
        call.write(observation);
      }
      call.end();
    },
    (error: Error) => call.destroy(error),
  );
};

export const observingService: UntypedServiceImplementation = {
  unary: observeUnary,
  clientStream: observeClientStream,
  serverStream: observeServerStream,
  bidi: observeBidi,
};

// ---- echo service: replies with the fork metadata it received -----------------------------

/** The values of the fork metadata one call arrived with. */
export interface Received {
  header: string[];
  baggage: string[];
}

function received(metadata: Metadata): Received {
  const text = (name: string) => metadata.get(name).map(String);
  return { header: text('x-fork-identifier'), baggage: text('baggage') };
}

export const echoService: UntypedServiceImplementation = {
  unary: ((call, callback) => callback(null, received(call.metadata))) satisfies handleUnaryCall<
    Json,
    Json
  >,
  clientStream: ((call, callback) => {
    call.resume();
    call.on('end', () => callback(null, received(call.metadata)));
  }) satisfies handleClientStreamingCall<Json, Json>,
  serverStream: ((call) => {
    call.write(received(call.metadata));
    call.end();
  }) satisfies handleServerStreamingCall<Json, Json>,
  bidi: ((call) => {
    call.write(received(call.metadata));
    call.resume();
    call.on('end', () => call.end());
  }) satisfies handleBidiStreamingCall<Json, Json>,
};
