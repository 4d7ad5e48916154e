// The CLIENT rows of the conformance table: one small adapter per way of making an outbound
// call. A row sends one call to an echo server (which answers with the fork headers it
// received, in two delayed chunks) and records the fork its response callbacks and events ran
// in. A new client integration is one more row.
import { once } from 'node:events';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  type CallOptions,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ClientWritableStream,
  credentials,
  Server as GrpcServer,
  type Metadata,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { forkClientInterceptor } from '@kubefork/grpc';
import { createTestCertificate } from '../support/tls-cert.js';
import {
  type Echo,
  type Fork,
  fork,
  type Headers,
  metadataOf,
  ProbeClient,
  probeService,
  rawValues,
} from './support.js';

export type ClientCase =
  | 'emission'
  | 'baseline'
  | 'exactly-once'
  | 'caller-wins'
  | 'propagate-to'
  | 'isolation'
  | 'after-await'
  | 'response-events';

export interface Called {
  /** What the echo server received. */
  echo: Echo;
  /** The fork each response callback or event ran in, in order. */
  events: Fork[];
}

/** The echo servers every row calls. */
export interface Targets {
  http: string;
  https: string;
  ca: string;
  /** `http://127.0.0.1:<port>` of a cleartext HTTP/2 echo server. */
  h2: string;
  grpcPort: number;
}

export interface OpenClient {
  call(headers: Headers): Promise<Called>;
  close(): Promise<void>;
}

export interface ClientRow {
  name: string;
  /** See ServerRow.gaps: known failures run as `it.fails`, each with a `// KNOWN GAP:` comment. */
  gaps?: readonly ClientCase[];
  open(targets: Targets): OpenClient;
}

// --- echo servers --------------------------------------------------------------------------------

function echoOf(rawHeaders: readonly string[]): Echo {
  return {
    header: rawValues(rawHeaders, 'x-fork-identifier'),
    baggage: rawValues(rawHeaders, 'baggage'),
  };
}

/** Answers with the echo as JSON, in two chunks 5 ms apart, so response events come later. */
function echoListener(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume();
  const text = JSON.stringify(echoOf(req.rawHeaders));
  const half = Math.floor(text.length / 2);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write(text.slice(0, half));
  setTimeout(() => res.end(text.slice(half)), 5);
}

function echoMetadata(metadata: Metadata): Echo {
  const strings = (name: string) => metadata.get(name).map(String);
  return { header: strings('x-fork-identifier'), baggage: strings('baggage') };
}

const later = <T>(value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), 5));

const grpcEcho: UntypedServiceImplementation = {
  unary(call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) {
    later(echoMetadata(call.metadata)).then((echo) => callback(null, echo));
  },
  clientStream(call: ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>) {
    call.resume();
    call.on('end', () => later(echoMetadata(call.metadata)).then((echo) => callback(null, echo)));
  },
  serverStream(call: ServerWritableStream<unknown, unknown>) {
    call.write(echoMetadata(call.metadata));
    later(null).then(() => call.end());
  },
  bidi(call: ServerDuplexStream<unknown, unknown>) {
    call.on('data', () => call.write(echoMetadata(call.metadata)));
    call.on('end', () => later(null).then(() => call.end()));
  },
};

export interface EchoServers {
  targets: Targets;
  close(): Promise<void>;
}

export async function startEchoServers(): Promise<EchoServers> {
  const tls = createTestCertificate();
  const plain = http.createServer(echoListener);
  const h2 = http2.createServer();
  const h2Sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (session: http2.ServerHttp2Session) => h2Sessions.add(session));
  h2.on(
    'stream',
    (
      stream: http2.ServerHttp2Stream,
      _headers: http2.IncomingHttpHeaders,
      _flags: number,
      rawHeaders: string[],
    ) => {
      stream.resume();
      const text = JSON.stringify(echoOf(rawHeaders));
      const half = Math.floor(text.length / 2);
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.write(text.slice(0, half));
      setTimeout(() => stream.end(text.slice(half)), 5);
    },
  );
  h2.listen(0, '127.0.0.1');
  await once(h2, 'listening');
  const secure = https.createServer(tls, echoListener);
  for (const server of [plain, secure]) {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  }
  const port = (server: http.Server | https.Server) => (server.address() as AddressInfo).port;
  const grpc = new GrpcServer();
  grpc.addService(probeService, grpcEcho);
  const grpcPort = await new Promise<number>((resolve, reject) => {
    grpc.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  return {
    targets: {
      http: `http://127.0.0.1:${port(plain)}/echo`,
      h2: `http://127.0.0.1:${(h2.address() as AddressInfo).port}`,
      https: `https://127.0.0.1:${port(secure)}/echo`,
      ca: tls.cert,
      grpcPort,
    },
    close: async () => {
      grpc.forceShutdown();
      for (const session of h2Sessions) session.destroy();
      await new Promise<void>((resolve) => h2.close(() => resolve()));
      for (const server of [plain, secure]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

// --- node:http and node:https ---------------------------------------------------------------------

export function headersOf(headers: Headers): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = typeof value === 'string' ? value : [...value];
  }
  return out;
}

/** Reads a response, recording the fork in the callback and in every 'data' and the 'end' event. */
function readResponse(
  events: Fork[],
  resolve: (called: Called) => void,
  reject: (error: Error) => void,
) {
  return (res: http.IncomingMessage) => {
    events.push(fork());
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      events.push(fork());
      text += chunk;
    });
    res.on('end', () => {
      events.push(fork());
      resolve({ echo: JSON.parse(text) as Echo, events });
    });
    res.on('error', reject);
  };
}

function nodeRow(
  name: string,
  send: (
    targets: Targets,
    headers: http.OutgoingHttpHeaders,
    agent: http.Agent,
    respond: (res: http.IncomingMessage) => void,
  ) => http.ClientRequest,
  secure = false,
): ClientRow {
  return {
    name,
    open(targets) {
      // Keep-alive: a socket opened in one fork serves the next call, in another.
      const agent = secure
        ? new https.Agent({ keepAlive: true, maxSockets: 8, ca: targets.ca })
        : new http.Agent({ keepAlive: true, maxSockets: 8 });
      return {
        call: (headers) =>
          new Promise<Called>((resolve, reject) => {
            const events: Fork[] = [];
            send(targets, headersOf(headers), agent, readResponse(events, resolve, reject)).on(
              'error',
              reject,
            );
          }),
        close: async () => agent.destroy(),
      };
    },
  };
}

// --- gRPC ------------------------------------------------------------------------------------------

type GrpcProbe = InstanceType<typeof ProbeClient> & {
  unary(
    request: unknown,
    metadata: Metadata,
    callback: (error: Error | null, reply?: unknown) => void,
  ): ClientUnaryCall;
  clientStream(
    metadata: Metadata,
    callback: (error: Error | null, reply?: unknown) => void,
  ): ClientWritableStream<unknown>;
  serverStream(request: unknown, metadata: Metadata): ClientReadableStream<unknown>;
  bidi(metadata: Metadata): ClientDuplexStream<unknown, unknown>;
};

// gRPC rows pass the channel's target to forkClientInterceptor so that propagateTo is judged
// (grpc-js does not tell interceptors the target). Streaming events on Node < 24 ran in the fork
// of the call that opened the channel until the interceptor bound the listener with bindFork.
function grpcRow(
  name: string,
  call: (client: GrpcProbe, metadata: Metadata, events: Fork[]) => Promise<Echo>,
): ClientRow {
  return {
    name: `gRPC ${name}`,
    open(targets) {
      const target = `127.0.0.1:${targets.grpcPort}`;
      const options: CallOptions & { interceptors: unknown[] } = {
        interceptors: [forkClientInterceptor({ target })],
      };
      const client = new ProbeClient(target, credentials.createInsecure(), options) as GrpcProbe;
      return {
        async call(headers) {
          const events: Fork[] = [];
          const echo = await call(client, metadataOf(headers), events);
          return { echo, events };
        },
        close: async () => client.close(),
      };
    },
  };
}

/** Resolves with the unary reply once both the callback and 'status' have run. */
function settle<T>(events: Fork[], stream: NodeJS.EventEmitter, reply: Promise<T>): Promise<T> {
  const status = new Promise<void>((resolve) =>
    stream.on('status', () => {
      events.push(fork());
      resolve();
    }),
  );
  return Promise.all([reply, status]).then(([value]) => value);
}

function streamed(
  events: Fork[],
  stream: ClientReadableStream<unknown> | ClientDuplexStream<unknown, unknown>,
): Promise<Echo> {
  let echo: Echo | undefined;
  const ended = new Promise<Echo>((resolve, reject) => {
    stream.on('data', (message: Echo) => {
      events.push(fork());
      echo ??= message;
    });
    stream.on('end', () => {
      events.push(fork());
      if (echo) resolve(echo);
      else reject(new Error('no message'));
    });
    stream.on('error', reject);
  });
  return settle(events, stream, ended);
}

/** Writes one message, then ends after a pause. */
function writeAndEnd(stream: ClientWritableStream<unknown> | ClientDuplexStream<unknown, unknown>) {
  stream.write({});
  setTimeout(() => stream.end(), 5);
}

const grpcRows: ClientRow[] = [
  grpcRow('unary', (client, metadata, events) => {
    let call!: ClientUnaryCall;
    const reply = new Promise<Echo>((resolve, reject) => {
      call = client.unary({}, metadata, (error, value) => {
        events.push(fork());
        error ? reject(error) : resolve(value as Echo);
      });
    });
    return settle(events, call, reply);
  }),
  grpcRow('client stream', (client, metadata, events) => {
    let call!: ClientWritableStream<unknown>;
    const reply = new Promise<Echo>((resolve, reject) => {
      call = client.clientStream(metadata, (error, value) => {
        events.push(fork());
        error ? reject(error) : resolve(value as Echo);
      });
    });
    writeAndEnd(call);
    return settle(events, call, reply);
  }),
  grpcRow('server stream', (client, metadata, events) =>
    streamed(events, client.serverStream({}, metadata)),
  ),
  grpcRow('bidi stream', (client, metadata, events) => {
    const call = client.bidi(metadata);
    writeAndEnd(call);
    return streamed(events, call);
  }),
];

// --- the table ------------------------------------------------------------------------------------

export function clientRows(): ClientRow[] {
  return [
    nodeRow('http.request', (t, headers, agent, respond) => {
      const req = http.request(t.http, { headers, agent }, respond);
      req.end();
      return req;
    }),
    nodeRow('http.get', (t, headers, agent, respond) =>
      http.get(t.http, { headers, agent }, respond),
    ),
    nodeRow(
      'https.request',
      (t, headers, agent, respond) => {
        const req = https.request(t.https, { headers, agent }, respond);
        req.end();
        return req;
      },
      true,
    ),
    {
      name: 'http2 session.request',
      open(targets) {
        // One session for every call: it was opened in whichever fork called first.
        const session = http2.connect(targets.h2);
        session.on('error', () => {});
        return {
          call: (headers) =>
            new Promise<Called>((resolve, reject) => {
              const events: Fork[] = [];
              const stream = session.request({ ...headersOf(headers), ':path': '/echo' });
              let text = '';
              stream.setEncoding('utf8');
              stream.on('response', () => events.push(fork()));
              stream.on('data', (chunk: string) => {
                events.push(fork());
                text += chunk;
              });
              stream.on('end', () => {
                events.push(fork());
                resolve({ echo: JSON.parse(text) as Echo, events });
              });
              stream.on('error', reject);
            }),
          close: async () => {
            session.destroy();
          },
        };
      },
    },
    {
      name: 'global fetch',
      open: (targets) => ({
        async call(headers) {
          const events: Fork[] = [];
          const res = await fetch(targets.http, {
            headers: headersOf(headers) as Record<string, string>,
          });
          events.push(fork());
          const echo = (await res.json()) as Echo;
          events.push(fork());
          return { echo, events };
        },
        close: async () => {},
      }),
    },
    ...grpcRows,
  ];
}
