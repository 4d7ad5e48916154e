// Service B: Fastify with the forkContext plugin, calling C over gRPC. The client interceptor
// adds the fork to the call's metadata.

import { forkContext } from '@kubefork/fastify';
import { forkClientInterceptor } from '@kubefork/grpc';
import Fastify from 'fastify';
import { callHop, chainClient } from '../chain-grpc.js';
import { hopRecord, receivedHeaders } from '../hop.js';
import { SERVER_KEEP_ALIVE_MS } from '../keep-alive.js';
import { type RunningService, requireDownstream, type ServiceOptions } from './service.js';

export async function start(options: ServiceOptions): Promise<RunningService> {
  const c = chainClient(requireDownstream('b', options.downstream), [forkClientInterceptor()]);
  const app = Fastify({ logger: false, keepAliveTimeout: SERVER_KEEP_ALIVE_MS });
  await app.register(forkContext);
  app.get('/healthz', async () => 'ok');
  app.get('/chain', async (request, reply) => {
    const hop = hopRecord('b', options.instance, receivedHeaders(request.raw.rawHeaders));
    try {
      const downstream = await callHop(c);
      return { hops: [hop, ...downstream.hops] };
    } catch (error) {
      return reply.code(502).send({ error: (error as Error).message, hops: [hop] });
    }
  });

  await app.listen({ port: options.port, host: options.host });
  const address = app.server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : options.port,
    async close() {
      c.close();
      app.server.closeAllConnections();
      await app.close();
    },
  };
}
