// The gRPC half of the stand-in sidecar: an HTTP/2 (cleartext) proxy that picks the upstream
// per stream, as Envoy routes each gRPC call on its own even when all share one connection.
import {
  type ClientHttp2Session,
  connect,
  constants,
  createServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';

const { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM, NGHTTP2_NO_ERROR } = constants;

/** gRPC status UNAVAILABLE, what Envoy answers when a route leads nowhere. */
const UNAVAILABLE = '14';

/** Header names → one value each for matchRoute; repeated fields joined with `,` as Envoy does. */
function headerMap(headers: IncomingHttpHeaders): Record<string, string> {
  const map: Record<string, string> = Object.create(null);
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value !== undefined) map[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return map;
}

/** A plain copy of a received header block: string keys only (Node adds symbol-keyed data). */
function copyHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const copy: OutgoingHttpHeaders = {};
  for (const name of Object.keys(headers)) copy[name] = headers[name];
  return copy;
}

function unavailable(stream: ServerHttp2Stream, message: string): void {
  if (stream.headersSent || stream.destroyed) {
    stream.close(NGHTTP2_CANCEL);
    return;
  }
  // A trailers-only response: the status goes in the one header block.
  stream.respond(
    {
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-status': UNAVAILABLE,
      'grpc-message': message,
    },
    { endStream: true },
  );
}

/** An HTTP/2 server that forwards each stream to the port `resolve` picks for its headers. */
export function createGrpcProxy(
  resolve: (headers: Record<string, string>) => number | undefined,
): Http2Server {
  const sessions = new Map<number, ClientHttp2Session>();

  function sessionTo(port: number): ClientHttp2Session {
    const open = sessions.get(port);
    if (open !== undefined && !open.closed && !open.destroyed) return open;
    const session = connect(`http://127.0.0.1:${port}`);
    // Failures surface on the streams; a session error alone must not crash the proxy.
    session.on('error', () => {});
    session.on('close', () => {
      if (sessions.get(port) === session) sessions.delete(port);
    });
    sessions.set(port, session);
    return session;
  }

  const server = createServer();
  server.on('stream', function forward(stream, headers) {
    stream.on('error', () => {});
    const port = resolve(headerMap(headers));
    if (port === undefined) {
      unavailable(stream, 'no route to host');
      return;
    }
    const upstream = sessionTo(port).request(copyHeaders(headers));
    upstream.on('error', () => {});
    let trailers: OutgoingHttpHeaders = {};
    upstream.on('response', (responseHeaders, flags) => {
      if (stream.destroyed) return;
      if ((flags & NGHTTP2_FLAG_END_STREAM) !== 0) {
        stream.respond(copyHeaders(responseHeaders), { endStream: true });
        return;
      }
      stream.respond(copyHeaders(responseHeaders), { waitForTrailers: true });
      upstream.pipe(stream);
    });
    upstream.on('trailers', (received) => {
      trailers = copyHeaders(received);
    });
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    // A reset on either side resets the other; normal ends travel through the pipes.
    upstream.on('close', () => {
      if (upstream.rstCode !== NGHTTP2_NO_ERROR && !stream.closed) {
        if (stream.headersSent) stream.close(upstream.rstCode);
        else unavailable(stream, 'upstream reset the stream');
      }
    });
    stream.on('close', () => {
      if (stream.rstCode !== NGHTTP2_NO_ERROR && !upstream.closed) upstream.close(NGHTTP2_CANCEL);
    });
    stream.pipe(upstream);
  });
  server.on('close', () => {
    for (const session of sessions.values()) session.destroy();
  });
  return server;
}
