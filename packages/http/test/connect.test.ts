// @connectrpc/connect-node clients and servers over HTTP/2, Connect and gRPC protocols (h2c and
// TLS) and gRPC-Web (h2c): a client in a fork calls service A (withForkContext around connectNodeAdapter), whose
// handler calls service B with its own Connect client; B reports what it received.
import * as http2 from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import { create, createFileRegistry, type DescService } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, file_google_protobuf_wrappers } from '@bufbuild/protobuf/wkt';
import { createClient, type Transport } from '@connectrpc/connect';
import {
  connectNodeAdapter,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from '@connectrpc/connect-node';
import { configure, getForkId, runWithForkId } from '@kubefork/context';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { valuesOf } from '../../../test/support/loopback.js';
import { createTestCertificate, type TestCertificate } from '../../../test/support/tls-cert.js';
import { instrumentHttp, withForkContext } from '../src/index.js';
import { closeH2, listenH2 } from './h2-support.js';

// The service, described at run time (no code generation): google.protobuf.StringValue in and out.
const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: 'kubefork/test/hop.proto',
    package: 'kubefork.test',
    dependency: ['google/protobuf/wrappers.proto'],
    syntax: 'proto3',
    service: [
      {
        name: 'Hop',
        method: [
          {
            name: 'Call',
            inputType: '.google.protobuf.StringValue',
            outputType: '.google.protobuf.StringValue',
          },
          {
            name: 'Collect',
            inputType: '.google.protobuf.StringValue',
            outputType: '.google.protobuf.StringValue',
            clientStreaming: true,
          },
        ],
      },
    ],
  }),
  (file) => (file === 'google/protobuf/wrappers.proto' ? file_google_protobuf_wrappers : undefined),
);
const Hop = registry.getService('kubefork.test.Hop') as DescService;

type Protocol = 'connect' | 'grpc' | 'grpc-web';
type HopClient = {
  call(
    request: { value: string },
    options?: { headers?: Record<string, string> },
  ): Promise<{
    value: string;
  }>;
  collect(requests: AsyncIterable<{ value: string }>): Promise<{ value: string }>;
};

/** What service B saw of one call: the fork in its handler and the raw header values. */
interface Seen {
  fork: string | null;
  header: string[];
  baggage: string[];
}

let tls: TestCertificate;
let uninstall: () => void;
beforeAll(() => {
  tls = createTestCertificate();
  uninstall = instrumentHttp();
});
afterAll(() => uninstall());
afterEach(async () => {
  configure();
  await closeH2();
});

function transportTo(protocol: Protocol, baseUrl: string, secure: boolean): Transport {
  const nodeOptions = secure ? { ca: tls.cert } : {};
  if (protocol === 'connect')
    return createConnectTransport({ baseUrl, httpVersion: '2', nodeOptions });
  if (protocol === 'grpc-web')
    return createGrpcWebTransport({ baseUrl, httpVersion: '2', nodeOptions });
  return createGrpcTransport({ baseUrl, nodeOptions });
}

function client(protocol: Protocol, baseUrl: string, secure: boolean): HopClient {
  return createClient(Hop, transportTo(protocol, baseUrl, secure)) as unknown as HopClient;
}

function server(secure: boolean) {
  return secure ? http2.createSecureServer(tls) : http2.createServer();
}

/** Service B: answers what it saw, as JSON; the raw headers come from the HTTP/2 stream. */
async function startB(secure: boolean): Promise<string> {
  const raw = new Map<string, string[]>();
  const b = server(secure);
  const record = (
    _stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    _flags: number,
    rawHeaders: string[],
  ) => {
    raw.set(String(headers['x-call']), rawHeaders);
  };
  b.on('stream', record);
  b.on(
    'request',
    withForkContext(
      connectNodeAdapter({
        routes: (router) =>
          router.service(Hop, {
            call(request: { value: string }, context: { requestHeader: Headers }) {
              const rawHeaders = raw.get(context.requestHeader.get('x-call') ?? '') ?? [];
              const seen: Seen = {
                fork: getForkId() ?? null,
                header: valuesOf(rawHeaders, 'x-fork-identifier'),
                baggage: valuesOf(rawHeaders, 'baggage'),
              };
              return { value: JSON.stringify({ ...seen, echo: request.value }) };
            },
          } as never),
      }),
    ),
  );
  return `${secure ? 'https' : 'http'}://127.0.0.1:${await listenH2(b)}`;
}

/** Service A: calls B from its handler (after reading every message for Collect). */
async function startA(protocol: Protocol, secure: boolean, bOrigin: string): Promise<string> {
  const next = client(protocol, bOrigin, secure);
  const a = server(secure);
  a.on(
    'request',
    withForkContext(
      connectNodeAdapter({
        routes: (router) =>
          router.service(Hop, {
            async call(request: { value: string }) {
              const answer = await next.call(request, { headers: { 'x-call': request.value } });
              const seen = JSON.parse(answer.value) as Seen;
              return { value: JSON.stringify({ a: getForkId() ?? null, b: seen }) };
            },
            async collect(requests: AsyncIterable<{ value: string }>) {
              const values: string[] = [];
              for await (const message of requests) values.push(message.value);
              const id = values.join('+');
              const answer = await next.call({ value: id }, { headers: { 'x-call': id } });
              const seen = JSON.parse(answer.value) as Seen;
              return { value: JSON.stringify({ a: getForkId() ?? null, b: seen }) };
            },
          } as never),
      }),
    ),
  );
  return `${secure ? 'https' : 'http'}://127.0.0.1:${await listenH2(a)}`;
}

async function startChain(protocol: Protocol, secure: boolean): Promise<HopClient> {
  const a = await startA(protocol, secure, await startB(secure));
  return client(protocol, a, secure);
}

interface Answer {
  a: string | null;
  b: Seen & { echo: string };
}

const parse = (answer: { value: string }) => JSON.parse(answer.value) as Answer;

async function* slowly(values: string[]): AsyncIterable<{ value: string }> {
  for (const value of values) {
    await sleep(15);
    yield { value };
  }
}

const CASES = [
  { protocol: 'connect', secure: false, name: 'Connect protocol, h2c' },
  { protocol: 'connect', secure: true, name: 'Connect protocol, TLS' },
  { protocol: 'grpc', secure: false, name: 'gRPC protocol, h2c' },
  { protocol: 'grpc', secure: true, name: 'gRPC protocol, TLS' },
  { protocol: 'grpc-web', secure: false, name: 'gRPC-Web protocol, h2c' },
] as const;

for (const { protocol, secure, name } of CASES) {
  describe(`@connectrpc/connect-node over HTTP/2: ${name}`, () => {
    it('captures the fork on the server and re-emits it exactly once on the next call', async () => {
      const hop = await startChain(protocol, secure);
      const forked = parse(await runWithForkId('alice', () => hop.call({ value: 'c1' })));
      const baseline = parse(await hop.call({ value: 'c2' }));
      expect(forked).toEqual({
        a: 'alice',
        b: { fork: 'alice', header: ['alice'], baggage: ['x-fork-identifier=alice'], echo: 'c1' },
      });
      expect(baseline).toEqual({
        a: null,
        b: { fork: null, header: [], baggage: [], echo: 'c2' },
      });
    });

    it('keeps the fork while a client stream’s messages arrive after the headers', async () => {
      const hop = await startChain(protocol, secure);
      const answer = parse(
        await runWithForkId('alice', () => hop.collect(slowly(['m1', 'm2', 'm3']))),
      );
      expect(answer).toEqual({
        a: 'alice',
        b: {
          fork: 'alice',
          header: ['alice'],
          baggage: ['x-fork-identifier=alice'],
          echo: 'm1+m2+m3',
        },
      });
    });

    it('lets the caller’s own fork header win and merges our member into its baggage', async () => {
      const next = await startB(secure);
      const hop = client(protocol, next, secure);
      const answer = JSON.parse(
        (
          await runWithForkId('alice', () =>
            hop.call(
              { value: 'c3' },
              {
                headers: { 'x-call': 'c3', 'x-fork-identifier': 'bob', baggage: 'userId=1' },
              },
            ),
          )
        ).value,
      ) as Seen;
      expect(answer).toMatchObject({
        fork: 'bob',
        header: ['bob'],
        baggage: ['x-fork-identifier=bob,userId=1'],
      });
    });

    it('carries 200 concurrent calls with distinct forks through the chain, none mismatched', async () => {
      const hop = await startChain(protocol, secure);
      const forks = Array.from({ length: 200 }, (_, i) => (i % 4 === 0 ? undefined : `f${i}`));
      const answers = await Promise.all(
        forks.map((fork, i) => runWithForkId(fork, () => hop.call({ value: `k${i}` }))),
      );
      const mismatched = answers.map(parse).filter((answer, i) => {
        const fork = forks[i] ?? null;
        return (
          answer.a !== fork ||
          answer.b.fork !== fork ||
          answer.b.echo !== `k${i}` ||
          answer.b.header.join() !== (fork ?? '')
        );
      });
      expect(mismatched).toEqual([]);
    });
  });
}
