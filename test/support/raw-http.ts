// HTTP/1.1 over a bare TCP socket: header lines go out byte for byte, including what every
// HTTP client refuses to send (CR, LF, NUL, obs-fold, a space before the colon, raw UTF-8).
import { connect } from 'node:net';

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function decodeChunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset < body.length) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd === -1) break;
    const size = Number.parseInt(body.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

function parseReply(raw: Buffer): RawReply {
  const headEnd = raw.indexOf('\r\n\r\n');
  if (headEnd === -1)
    throw new Error(`no complete response: ${JSON.stringify(raw.toString('latin1'))}`);
  const [statusLine = '', ...lines] = raw.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.subarray(headEnd + 4);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') body = decodeChunked(body);
  return { status, headers, body: body.toString('utf8') };
}

/**
 * Sends `GET <path>` to 127.0.0.1:`port` with the given header lines (each without its CRLF;
 * a string is written as Latin-1, a Buffer as is) and `Connection: close`, then reads the whole
 * response.
 */
export function rawHttpGet(
  port: number,
  path: string,
  lines: readonly (string | Buffer)[],
  timeoutMs = 10_000,
): Promise<RawReply> {
  const crlf = Buffer.from('\r\n');
  const request = Buffer.concat([
    Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`, 'latin1'),
    ...lines.flatMap((line) => [
      typeof line === 'string' ? Buffer.from(line, 'latin1') : line,
      crlf,
    ]),
    Buffer.from('Connection: close\r\n\r\n', 'latin1'),
  ]);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`no answer within ${timeoutMs} ms`)),
    );
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      try {
        resolve(parseReply(Buffer.concat(chunks)));
      } catch (error) {
        reject(error);
      }
    });
    // write, not end: Node's HTTP server drops a request whose client half-closed first.
    socket.write(request);
  });
}
