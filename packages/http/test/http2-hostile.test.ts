// The bad-input corpus against HTTP/2 servers: each hostile field goes out byte for byte in a
// hand-written HEADERS frame to a withForkStream server and a withForkContext (compatibility
// API) server, whose handlers call a downstream HTTP/2 service. Whatever arrives, the server stays
// up, serves baseline, tells onInvalid why, and sends nothing fork-like on; or the HTTP/2 layer
// resets the stream before any of our code runs.
import * as http2 from 'node:http2';
import { configure, getForkId, type InvalidReason } from '@kubefork/context';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fieldsOf,
  HOSTILE_INPUTS,
  type HostileInput,
} from '../../../test/support/hostile-inputs.js';
import { valuesOf } from '../../../test/support/loopback.js';
import { rawGrpcCall } from '../../../test/support/raw-h2.js';
import { instrumentHttp, withForkContext, withForkStream } from '../src/index.js';
import {
  closeH2,
  connectH2,
  type H2Downstream,
  listenH2,
  requestH2,
  startH2Downstream,
} from './h2-support.js';

/**
 * What a plain HTTP/2 server makes of an input that reaches the integration: HTTP's verdict
 * (there is no gRPC metadata decoding here, so `-bin` keys are just other headers). Node's
 * HTTP/2 layer (nghttp2) either resets the stream or silently drops a field that RFC 9113
 * §8.2.1 makes malformed (upper-case names, CR, LF, NUL, DEL, leading or trailing whitespace)
 * before any of our code runs; the corpus marks those inputs `dropped` for gRPC.
 */
function expectedReason(input: HostileInput): InvalidReason | 'none' | 'refused' {
  if (typeof input.http === 'object') return input.http.invalid;
  return input.http === 'not-a-fork-id' ? 'none' : 'refused';
}

/** The answer's body, framed as one gRPC message so that rawGrpcCall can read it. */
function framed(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value));
  const message = Buffer.alloc(5 + json.length);
  message.writeUInt32BE(json.length, 1);
  json.copy(message, 5);
  return message;
}

let downstream: H2Downstream;
let uninstall: () => void;
const reported: InvalidReason[] = [];
const ports: Record<'stream' | 'compat', number> = { stream: 0, compat: 0 };
/** The raw header list each server last received, as Node's HTTP/2 layer handed it over. */
const arrived: Record<'stream' | 'compat', string[]> = { stream: [], compat: [] };

function recordInto(api: 'stream' | 'compat') {
  return (
    _stream: http2.ServerHttp2Stream,
    _headers: http2.IncomingHttpHeaders,
    _flags: number,
    rawHeaders: string[],
  ) => {
    arrived[api] = rawHeaders;
  };
}

beforeAll(async () => {
  uninstall = instrumentHttp();
  configure({ onInvalid: (_value, reason) => reported.push(reason) });
  downstream = await startH2Downstream();
  const next = connectH2(downstream.origin);

  const core = http2.createServer();
  core.on('stream', recordInto('stream'));
  core.on(
    'stream',
    withForkStream((stream) => {
      stream.resume();
      stream.on('end', async () => {
        await requestH2(next, { ':path': '/next' });
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        stream.end(framed({ fork: getForkId() ?? null }));
      });
    }),
  );
  ports.stream = await listenH2(core);

  const compat = http2.createServer(
    withForkContext<http2.Http2ServerRequest>((request, response) => {
      request.resume();
      request.on('end', async () => {
        await requestH2(next, { ':path': '/next' });
        response.writeHead(200, { 'content-type': 'application/grpc' });
        response.end(framed({ fork: getForkId() ?? null }));
      });
    }),
  );
  compat.on('stream', recordInto('compat'));
  ports.compat = await listenH2(compat);
});

afterAll(async () => {
  uninstall();
  configure();
  await closeH2();
});

for (const api of ['stream', 'compat'] as const) {
  const title = api === 'stream' ? 'withForkStream' : 'withForkContext on http2.createServer';
  describe(`${title} given hostile input`, () => {
    for (const input of HOSTILE_INPUTS) {
      const expected = expectedReason(input);
      const droppable = input.grpc === 'dropped';
      const outcome =
        expected === 'refused'
          ? 'refused or dropped by the HTTP/2 layer'
          : `baseline, ${expected === 'none' ? 'nothing reported' : `onInvalid told "${expected}"`}${droppable ? ' (unless the HTTP/2 layer drops it)' : ''}`;
      it(`${input.name}: ${outcome}; nothing re-emitted`, async () => {
        reported.length = 0;
        arrived[api] = [];
        const before = downstream.received.length;
        const reply = await rawGrpcCall(ports[api], '/hostile', fieldsOf(input));
        const reset = reply.resetCode !== undefined || reply.goAwayCode !== undefined;
        const served = downstream.received.slice(before);
        if (reset) {
          // Only what the HTTP/2 layer refuses for gRPC too, and before any of our code ran.
          expect(droppable).toBe(true);
          expect(served).toEqual([]);
          expect(reported).toEqual([]);
          return;
        }
        expect(reply.messages).toEqual([{ fork: null }]);
        const names = fieldsOf(input).map(([name]) => name.toString('latin1').toLowerCase());
        const reached = names.some((name) => valuesOf(arrived[api], name).length > 0);
        if (reached) {
          expect(expected).not.toBe('refused');
          expect(reported).toEqual(expected === 'none' ? [] : [expected]);
        } else {
          // The HTTP/2 layer removed the field before any of our code ran: nothing to report.
          expect(droppable).toBe(true);
          expect(reported).toEqual([]);
        }
        expect(served).toHaveLength(1);
        expect(valuesOf(served[0]!.rawHeaders, 'x-fork-identifier')).toEqual([]);
        expect(valuesOf(served[0]!.rawHeaders, 'baggage')).toEqual([]);
      });
    }

    it('still serves a valid fork after the corpus', async () => {
      const before = downstream.received.length;
      const reply = await rawGrpcCall(ports[api], '/valid', [['x-fork-identifier', 'alice']]);
      expect(reply.messages).toEqual([{ fork: 'alice' }]);
      const sent = downstream.received[before]!.rawHeaders;
      expect(valuesOf(sent, 'x-fork-identifier')).toEqual(['alice']);
    });
  });
}
