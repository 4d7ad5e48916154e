import { createServer, type Server } from 'node:http';
import express4 from 'express4';
import express5 from 'express5';
import { baseUrl } from '../../../test/support/http-client.js';

export type ExpressFactory = typeof express5;

/**
 * Both supported majors, installed side by side as `express4` and `express5`. Express 4 is typed
 * as Express 5 so that one test body drives both; the tests use only what the two share.
 */
export const majors: ReadonlyArray<{ major: number; express: ExpressFactory }> = [
  { major: 4, express: express4 as unknown as ExpressFactory },
  { major: 5, express: express5 },
];

export interface Running {
  base: string;
  close(): Promise<void>;
}

/** Serves `app` on 127.0.0.1 at a free port, through a plain node:http server. */
export async function serve(app: ReturnType<ExpressFactory>): Promise<Running> {
  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    base: baseUrl(server),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
