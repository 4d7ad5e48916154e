// One gRPC call over a bare HTTP/2 (cleartext) connection, frames written by hand: header
// names and values go out byte for byte, including what Node's http2 client and grpc-js refuse
// or rewrite (upper-case names, a space in a name, control characters). Only what the suite
// needs is read back: the response messages (DATA frames need no HPACK) and stream resets.
import { connect } from 'node:net';

export interface RawGrpcReply {
  /** Whether the server sent response headers on the stream (it accepted the request). */
  answered: boolean;
  /** The response messages, decoded as JSON. */
  messages: unknown[];
  /** The RST_STREAM error code, when the server reset the stream. */
  resetCode: number | undefined;
  /** The GOAWAY error code, when the server closed the connection. */
  goAwayCode: number | undefined;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
/** SETTINGS_MAX_FRAME_SIZE default (RFC 9113 §6.5.2): one HEADERS frame, no CONTINUATION. */
const MAX_FRAME = 16_384;
const STREAM = 1;

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head.writeUInt8(type, 3);
  head.writeUInt8(flags, 4);
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK integer with a 7-bit prefix (RFC 7541 §5.1), no Huffman bit. */
function hpackLength(length: number): Buffer {
  if (length < 127) return Buffer.from([length]);
  const bytes = [127];
  let rest = length - 127;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** Literal header field without indexing, new name (RFC 7541 §6.2.2), raw octets. */
function hpackField(name: Buffer, value: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from([0]),
    hpackLength(name.length),
    name,
    hpackLength(value.length),
    value,
  ]);
}

function bytes(text: string | Buffer): Buffer {
  return typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
}

/**
 * Calls the unary method `path` on 127.0.0.1:`port` with `message` (JSON) and the extra
 * `headers` (strings are written as Latin-1 octets, Buffers as is) and collects the answer.
 */
export function rawGrpcCall(
  port: number,
  path: string,
  headers: readonly (readonly [string | Buffer, string | Buffer])[],
  message: unknown = {},
  timeoutMs = 10_000,
): Promise<RawGrpcReply> {
  const fields = [
    hpackField(bytes(':method'), bytes('POST')),
    hpackField(bytes(':scheme'), bytes('http')),
    hpackField(bytes(':path'), bytes(path)),
    hpackField(bytes(':authority'), bytes(`127.0.0.1:${port}`)),
    hpackField(bytes('content-type'), bytes('application/grpc')),
    hpackField(bytes('te'), bytes('trailers')),
    ...headers.map(([name, value]) => hpackField(bytes(name), bytes(value))),
  ];
  const block = Buffer.concat(fields);
  if (block.length > MAX_FRAME)
    throw new RangeError(`header block of ${block.length} bytes needs CONTINUATION`);
  const json = Buffer.from(JSON.stringify(message));
  const grpcMessage = Buffer.alloc(5 + json.length);
  grpcMessage.writeUInt32BE(json.length, 1);
  json.copy(grpcMessage, 5);

  return new Promise((resolve, reject) => {
    const reply: RawGrpcReply = {
      answered: false,
      messages: [],
      resetCode: undefined,
      goAwayCode: undefined,
    };
    let data = Buffer.alloc(0);
    let pending = Buffer.alloc(0);
    let done = false;
    const socket = connect(port, '127.0.0.1');
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      socket.destroy();
      if (error !== undefined) {
        reject(error);
        return;
      }
      // gRPC length-prefixed messages (5-byte header: compressed flag, 32-bit length).
      for (let offset = 0; offset + 5 <= data.length; ) {
        const length = data.readUInt32BE(offset + 1);
        reply.messages.push(
          JSON.parse(data.subarray(offset + 5, offset + 5 + length).toString('utf8')),
        );
        offset += 5 + length;
      }
      resolve(reply);
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`no answer within ${timeoutMs} ms`)));
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish());
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const type = pending.readUInt8(3);
        const flags = pending.readUInt8(4);
        const stream = pending.readUInt32BE(5) & 0x7fffffff;
        let payload = pending.subarray(9, 9 + length);
        pending = pending.subarray(9 + length);
        if (type === SETTINGS && (flags & ACK) === 0)
          socket.write(frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
        else if (type === PING && (flags & ACK) === 0) socket.write(frame(PING, ACK, 0, payload));
        else if (type === GOAWAY) {
          reply.goAwayCode = payload.readUInt32BE(4);
          finish();
        } else if (stream === STREAM && type === RST_STREAM) {
          reply.resetCode = payload.readUInt32BE(0);
          finish();
        } else if (stream === STREAM && (type === DATA || type === HEADERS)) {
          if (type === HEADERS) reply.answered = true;
          else {
            if (flags & PADDED)
              payload = payload.subarray(1, payload.length - payload.readUInt8(0));
            data = Buffer.concat([data, payload]);
          }
          if (flags & END_STREAM) finish();
        }
      }
    });
    socket.write(
      Buffer.concat([
        PREFACE,
        frame(SETTINGS, 0, 0, Buffer.alloc(0)),
        frame(HEADERS, END_HEADERS, STREAM, block),
        frame(DATA, END_STREAM, STREAM, grpcMessage),
      ]),
    );
  });
}
