// A producer that writes the NATS protocol by hand, so that header blocks nats.js would refuse
// to build (CR, LF, NUL, names with spaces) reach the server and the consumer byte for byte.
import { Socket } from 'node:net';

export interface RawPublisher {
  /** Publishes with the header lines given (no CRLF), then waits for the server's PONG. */
  publish(subject: string, lines: readonly (string | Buffer)[], payload?: string): Promise<void>;
  close(): void;
}

export async function rawPublisher(port: number): Promise<RawPublisher> {
  const socket = new Socket();
  let received = '';
  let waiting: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
    if (received.includes('-ERR')) throw new Error(`nats-server refused: ${received}`);
    if (received.includes('PONG\r\n')) {
      received = received.replace('PONG\r\n', '');
      waiting?.();
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, '127.0.0.1', resolve);
  });
  const pong = () =>
    new Promise<void>((resolve) => {
      waiting = resolve;
      socket.write('PING\r\n');
    });
  socket.write('CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n');
  await pong();
  return {
    async publish(subject, lines, payload = 'x') {
      const block = Buffer.concat([
        Buffer.from('NATS/1.0\r\n'),
        ...lines.flatMap((line) => [
          typeof line === 'string' ? Buffer.from(line, 'latin1') : line,
          Buffer.from('\r\n'),
        ]),
        Buffer.from('\r\n'),
      ]);
      const body = Buffer.from(payload);
      socket.write(`HPUB ${subject} ${block.length} ${block.length + body.length}\r\n`);
      socket.write(Buffer.concat([block, body, Buffer.from('\r\n')]));
      await pong();
    },
    close() {
      socket.destroy();
    },
  };
}
