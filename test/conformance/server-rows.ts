// The SERVER rows of the conformance table: one small adapter per integration. A row starts a
// real server on 127.0.0.1:0 whose handler records an `Observation` per request, and sends one
// request with given headers. A new server integration is one more row.
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';
import {
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
import { forkContext as expressFork } from '@kubefork/express';
import { forkContext as fastifyFork } from '@kubefork/fastify';
import { type ForkServerOptions, forkServerInterceptor, withForkHandlers } from '@kubefork/grpc';
import { withForkContext, withForkStream } from '@kubefork/http';
import express4 from 'express4';
import express5 from 'express5';
import fastify4 from 'fastify4';
import fastify5 from 'fastify5';
import { createTestCertificate } from '../support/tls-cert.js';
import {
  BODY_CHUNKS,
  BODY_DELAY_MS,
  type Fork,
  fork,
  type Headers,
  metadataOf,
  type Observation,
  observeBody,
  observeLater,
  ProbeClient,
  probeService,
} from './support.js';

/** The cases a row can be marked as failing today (see `gaps`). */
export type ServerCase =
  | 'capture'
  | 'alias-precedence'
  | 'trust'
  | 'invalid'
  | 'isolation'
  | 'after-await'
  | 'timers'
  | 'body-events';

export interface StartOptions {
  /** Trust only requests carrying `x-from-mesh: 1` (every row maps this to its `trust` option). */
  meshOnly?: boolean;
}

export interface RunningServer {
  /** Sends one request with `headers` (and, for rows with a body, two delayed chunks). */
  call(headers: Headers): Promise<Observation>;
  close(): Promise<void>;
}

export interface ServerRow {
  name: string;
  /** Whether the request has a body whose events the handler observes. */
  body: boolean;
  /**
   * Cases this integration fails today; they run as `it.fails` so that fixing the bug turns
   * them red until the row is updated. Every entry carries a `// KNOWN GAP:` comment.
   */
  gaps?: readonly ServerCase[];
  start(options: StartOptions): Promise<RunningServer>;
}

/**
 * The `trust` every row installs for `meshOnly`: true for `x-from-mesh: 1`; throws for `throw`
 * and answers with a Promise for `promise` (both must count as untrusted).
 */
function meshTrust(value: unknown): boolean {
  if (value === 'throw') throw new Error('trust threw');
  if (value === 'promise') return Promise.resolve(true) as unknown as boolean;
  return value === '1';
}

const fromMesh = (headers: Record<string, unknown>) => meshTrust(headers['x-from-mesh']);

// --- the handler every HTTP-like row runs ------------------------------------------------------

/** Observes the request: the fork now, in body events, after await and in timers. */
async function probe(body: Parameters<typeof observeBody>[0]): Promise<Observation> {
  const sync = fork();
  const events = observeBody(body);
  const later = await observeLater();
  const { data, end } = await events;
  return { sync, ...later, data, end };
}

function serveProbe(
  req: IncomingMessage | http2.Http2ServerRequest,
  res: ServerResponse | http2.Http2ServerResponse,
) {
  probe(req).then(
    (observation) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(observation));
    },
    (error: Error) => {
      res.statusCode = 500;
      res.end(error.message);
    },
  );
}

// --- sending -----------------------------------------------------------------------------------

function flatten(headers: Headers): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = typeof value === 'string' ? value : [...value];
  }
  return out;
}

/** POSTs the two body chunks (the second after a pause) over http or https; parses the JSON reply. */
function sendHttp(
  url: string,
  headers: Headers,
  options: { ca?: string; agent: http.Agent },
): Promise<Observation> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: 'POST',
        headers: { ...flatten(headers), 'content-type': 'application/x-probe' },
        agent: options.agent,
        ca: options.ca,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          if (res.statusCode === 200) resolve(JSON.parse(text) as Observation);
          else reject(new Error(`status ${res.statusCode}: ${text}`));
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.write(BODY_CHUNKS[0]);
    setTimeout(() => req.end(BODY_CHUNKS[1]), BODY_DELAY_MS);
  });
}

async function listen(server: NetServer): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function closeHttp(server: http.Server | https.Server, agent: http.Agent): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      agent.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

/** A node:http(s) server around `listener`; requests over a keep-alive agent. */
async function httpRow(
  listener: http.RequestListener,
  tls?: { key: string; cert: string },
): Promise<RunningServer> {
  const server = tls ? https.createServer(tls, listener) : http.createServer(listener);
  const port = await listen(server);
  const agent = new (tls ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: 64 });
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}/probe`;
  return {
    call: (headers) => sendHttp(url, headers, { ca: tls?.cert, agent }),
    close: closeHttp(server, agent),
  };
}

/** An HTTP/2 server (cleartext) and one client session for all requests. */
async function http2Row(attach: (server: http2.Http2Server) => void): Promise<RunningServer> {
  const server = http2.createServer();
  attach(server);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session: http2.ServerHttp2Session) => sessions.add(session));
  const port = await listen(server);
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on('error', () => {});
  return {
    call: (headers) =>
      new Promise<Observation>((resolve, reject) => {
        const stream = client.request({
          ...flatten(headers),
          ':method': 'POST',
          ':path': '/probe',
          'content-type': 'application/x-probe',
        });
        let text = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          text += chunk;
        });
        stream.on('end', () => {
          try {
            resolve(JSON.parse(text) as Observation);
          } catch {
            reject(new Error(`not JSON: ${text}`));
          }
        });
        stream.on('error', reject);
        stream.write(BODY_CHUNKS[0]);
        setTimeout(() => stream.end(BODY_CHUNKS[1]), BODY_DELAY_MS);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        client.destroy();
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}

// --- Express and Fastify -------------------------------------------------------------------------

type ExpressFactory = typeof express5;

function expressRow(major: number, express: ExpressFactory): ServerRow {
  return {
    name: `Express ${major}`,
    body: true,
    async start({ meshOnly }) {
      const app = express();
      app.use(expressFork(meshOnly ? { trust: (req) => fromMesh(req.headers) } : {}));
      app.post('/probe', (req, res) => {
        probe(req).then(
          (observation) => res.json(observation),
          (error: Error) => res.status(500).send(error.message),
        );
      });
      return httpRow(app);
    },
  };
}

type FastifyFactory = typeof fastify5;

function fastifyRow(major: number, fastify: FastifyFactory): ServerRow {
  return {
    name: `Fastify ${major}`,
    body: true,
    async start({ meshOnly }) {
      const app = fastify();
      await app.register(
        fastifyFork,
        meshOnly ? { trust: (request) => fromMesh(request.headers) } : {},
      );
      // The parser is where Fastify code reads a streamed body: it observes the events.
      app.addContentTypeParser('application/x-probe', (_request, payload, done) => {
        observeBody(payload).then(
          (events) => done(null, events),
          (error: Error) => done(error, undefined),
        );
      });
      app.post('/probe', async (request) => {
        const sync = fork();
        const later = await observeLater();
        return { sync, ...later, ...(request.body as Pick<Observation, 'data' | 'end'>) };
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as AddressInfo;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
      const url = `http://127.0.0.1:${port}/probe`;
      return {
        call: (headers) => sendHttp(url, headers, { agent }),
        close: async () => {
          agent.destroy();
          await app.close();
        },
      };
    },
  };
}

// --- gRPC ----------------------------------------------------------------------------------------

type CallType = keyof typeof probeService;

/** Handlers for the four call types; each replies with its observation. */
const grpcProbe: UntypedServiceImplementation = {
  unary(_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) {
    const sync = fork();
    observeLater().then((later) => callback(null, { sync, ...later }), callback);
  },
  clientStream(call: ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>) {
    probe(call).then((observation) => callback(null, observation), callback);
  },
  serverStream(call: ServerWritableStream<unknown, unknown>) {
    const sync = fork();
    observeLater().then(
      (later) => {
        call.write({ sync, ...later });
        call.end();
      },
      (error: Error) => call.destroy(error),
    );
  },
  bidi(call: ServerDuplexStream<unknown, unknown>) {
    probe(call).then(
      (observation) => {
        call.write(observation);
        call.end();
      },
      (error: Error) => call.destroy(error),
    );
  },
};

function grpcCall(client: InstanceType<typeof ProbeClient>, type: CallType, headers: Headers) {
  const metadata = metadataOf(headers);
  // The generated client types its methods as Function.
  const methods = client as unknown as Record<CallType, (...args: unknown[]) => unknown>;
  return new Promise<Observation>((resolve, reject) => {
    const done = (error: Error | null, reply?: unknown) =>
      error ? reject(error) : resolve(reply as Observation);
    const writeBody = (stream: { write(message: unknown): unknown; end(): unknown }) => {
      stream.write({ chunk: BODY_CHUNKS[0] });
      setTimeout(() => {
        stream.write({ chunk: BODY_CHUNKS[1] });
        stream.end();
      }, BODY_DELAY_MS);
    };
    switch (type) {
      case 'unary':
        methods.unary.call(client, {}, metadata, done);
        break;
      case 'clientStream':
        writeBody(
          methods.clientStream.call(client, metadata, done) as Parameters<typeof writeBody>[0],
        );
        break;
      case 'serverStream': {
        const stream = methods.serverStream.call(client, {}, metadata) as NodeJS.EventEmitter;
        stream.on('data', (reply: unknown) => done(null, reply));
        stream.on('error', reject);
        break;
      }
      case 'bidi': {
        const stream = methods.bidi.call(client, metadata) as NodeJS.EventEmitter &
          Parameters<typeof writeBody>[0];
        stream.on('data', (reply: unknown) => done(null, reply));
        stream.on('error', reject);
        writeBody(stream);
        break;
      }
    }
  });
}

function grpcRow(
  setup: 'forkServerInterceptor' | 'withForkHandlers',
  type: CallType,
  gaps: readonly ServerCase[] = [],
): ServerRow {
  return {
    name: `gRPC ${type} (${setup})`,
    body: type === 'clientStream' || type === 'bidi',
    gaps,
    async start({ meshOnly }) {
      const options: ForkServerOptions = meshOnly
        ? { trust: (metadata: Metadata) => meshTrust(metadata.get('x-from-mesh')[0]) }
        : {};
      const server =
        setup === 'forkServerInterceptor'
          ? new GrpcServer({ interceptors: [forkServerInterceptor(options)] })
          : new GrpcServer();
      server.addService(
        probeService,
        setup === 'forkServerInterceptor' ? grpcProbe : withForkHandlers(grpcProbe, options),
      );
      const port = await new Promise<number>((resolve, reject) => {
        server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
          error ? reject(error) : resolve(bound),
        );
      });
      const client = new ProbeClient(`127.0.0.1:${port}`, credentials.createInsecure());
      return {
        call: (headers) => grpcCall(client, type, headers),
        close: async () => {
          client.close();
          server.forceShutdown();
        },
      };
    },
  };
}

// --- the table -----------------------------------------------------------------------------------

let certificate: { key: string; cert: string } | undefined;
const tls = () => {
  certificate ??= createTestCertificate();
  return certificate;
};

export const SERVER_ROWS: readonly ServerRow[] = [
  {
    name: 'node:http withForkContext',
    body: true,
    start: ({ meshOnly }) =>
      httpRow(
        withForkContext(serveProbe, meshOnly ? { trust: (req) => fromMesh(req.headers) } : {}),
      ),
  },
  {
    name: 'node:https withForkContext',
    body: true,
    start: ({ meshOnly }) =>
      httpRow(
        withForkContext(serveProbe, meshOnly ? { trust: (req) => fromMesh(req.headers) } : {}),
        tls(),
      ),
  },
  {
    name: 'node:http2 compatibility API withForkContext',
    body: true,
    start: ({ meshOnly }) =>
      http2Row((server) =>
        server.on(
          'request',
          withForkContext<http2.Http2ServerRequest>(
            serveProbe,
            meshOnly ? { trust: (req) => fromMesh(req.headers) } : {},
          ),
        ),
      ),
  },
  {
    name: 'node:http2 stream API withForkStream',
    body: true,
    start: ({ meshOnly }) =>
      http2Row((server) =>
        server.on(
          'stream',
          withForkStream(
            (stream) => {
              probe(stream).then(
                (observation) => {
                  stream.respond({ ':status': 200, 'content-type': 'application/json' });
                  stream.end(JSON.stringify(observation));
                },
                (error: Error) => stream.destroy(error),
              );
            },
            meshOnly ? { trust: (_stream, headers) => fromMesh(headers) } : {},
          ),
        ),
      ),
  },
  expressRow(4, express4 as unknown as ExpressFactory),
  expressRow(5, express5),
  fastifyRow(4, fastify4 as unknown as FastifyFactory),
  fastifyRow(5, fastify5),
  ...(['forkServerInterceptor', 'withForkHandlers'] as const).flatMap((setup) =>
    (Object.keys(probeService) as CallType[]).map((type) => grpcRow(setup, type)),
  ),
];

export type { Fork };
