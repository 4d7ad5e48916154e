// Real HTTP/2 servers on loopback for the HTTP/2 suites: each records the headers of every stream
// exactly as they arrived (raw header list, so a header sent twice is seen twice).
import { once } from 'node:events';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TestCertificate } from '../../../test/support/tls-cert.js';

type H2Server = http2.Http2Server | http2.Http2SecureServer;

const open = new Map<H2Server, Set<http2.ServerHttp2Session>>();
const clients = new Set<http2.ClientHttp2Session>();

/** Starts `server` on 127.0.0.1 with a free port; {@link closeH2} closes it and its sessions. */
export async function listenH2(server: H2Server): Promise<number> {
  const sessions = new Set<http2.ServerHttp2Session>();
  open.set(server, sessions);
  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** `http2.connect`, remembered so that {@link closeH2} closes the session. */
export function connectH2(
  authority: string,
  options: http2.SecureClientSessionOptions = {},
): http2.ClientHttp2Session {
  const session = http2.connect(authority, options);
  session.on('error', () => {});
  clients.add(session);
  return session;
}

/** Destroys every session and closes every server started here. */
export async function closeH2(): Promise<void> {
  for (const session of clients) session.destroy();
  clients.clear();
  const closing = [...open].map(([server, sessions]) => {
    open.delete(server);
    for (const session of sessions) session.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  await Promise.all(closing);
}

export interface H2Received {
  /** `[name, value, name, value, …]` as received. */
  rawHeaders: string[];
  headers: http2.IncomingHttpHeaders;
}

export interface H2Downstream {
  origin: string;
  port: number;
  received: H2Received[];
}

/** An HTTP/2 service (TLS when `tls` is given) that records every stream and answers 200 "ok". */
export async function startH2Downstream(tls?: TestCertificate): Promise<H2Downstream> {
  const received: H2Received[] = [];
  const server = tls ? http2.createSecureServer(tls) : http2.createServer();
  const onStream = (
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    _flags: number,
    rawHeaders: string[],
  ) => {
    received.push({ rawHeaders, headers });
    stream.respond({ ':status': 200 });
    stream.end('ok');
  };
  server.on('stream', onStream);
  const port = await listenH2(server);
  return { origin: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, port, received };
}

export interface H2Response {
  status: number;
  body: string;
}

/** Sends one request on `session` and reads the answer; `body` is sent after the headers. */
export async function requestH2(
  session: http2.ClientHttp2Session,
  headers?: http2.OutgoingHttpHeaders | unknown[],
  body?: string,
): Promise<H2Response> {
  const stream =
    headers === undefined
      ? session.request()
      : session.request(headers as http2.OutgoingHttpHeaders, { endStream: body === undefined });
  if (body !== undefined) stream.end(body);
  const [response] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
  let text = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream) text += chunk;
  return { status: Number(response[':status']), body: text };
}
