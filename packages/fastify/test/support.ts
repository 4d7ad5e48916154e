import type { FastifyInstance } from 'fastify';
import fastify4 from 'fastify4';
import fastify5 from 'fastify5';
import middie4 from 'middie4';
import middie5 from 'middie5';

export type FastifyFactory = typeof fastify5;
export type MiddiePlugin = typeof middie5;

/**
 * Both supported majors, installed side by side as `fastify4` and `fastify5`, each with the
 * `@fastify/middie` major made for it. Fastify 4 is typed as Fastify 5 so that one test body
 * drives both; the tests use only what the two share.
 */
export const majors: ReadonlyArray<{
  major: number;
  fastify: FastifyFactory;
  middie: MiddiePlugin;
}> = [
  {
    major: 4,
    fastify: fastify4 as unknown as FastifyFactory,
    middie: middie4 as unknown as MiddiePlugin,
  },
  { major: 5, fastify: fastify5, middie: middie5 },
];

/** Starts `app` on 127.0.0.1 at a free port and returns its base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening on TCP');
  return `http://127.0.0.1:${address.port}`;
}

/** Closes `app`, dropping keep-alive connections that would otherwise hold `close` open. */
export async function shut(app: FastifyInstance | undefined): Promise<void> {
  if (app === undefined) return;
  app.server.closeAllConnections();
  await app.close();
}
