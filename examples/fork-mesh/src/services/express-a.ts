// Service A: Express with the forkContext middleware, calling B with node:http (http.get).
// @kubefork/auto, loaded first by serve.ts, adds the fork to that call.
import { once } from 'node:events';
import { type Agent, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forkContext } from '@kubefork/express';
import express from 'express';
import { type ChainReply, hopRecord, parseChainReply, receivedHeaders } from '../hop.js';
import { keepAliveAgent, SERVER_KEEP_ALIVE_MS } from '../keep-alive.js';
import { type RunningService, requireDownstream, type ServiceOptions } from './service.js';

/** GET `url` with node:http and read the chain reply. */
function getChain(url: string, agent: Agent): Promise<ChainReply> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => {
        try {
          resolve(parseChainReply('b', response.statusCode ?? 0, body));
        } catch (error) {
          reject(error);
        }
      });
      response.on('error', reject);
    }).on('error', reject);
  });
}

export async function start(options: ServiceOptions): Promise<RunningService> {
  const next = `${requireDownstream('a', options.downstream)}/chain`;
  const agent = keepAliveAgent();
  const app = express();
  app.disable('x-powered-by');
  app.use(forkContext());
  app.get('/healthz', (_req, res) => {
    res.send('ok');
  });
  app.get('/chain', async (req, res) => {
    const hop = hopRecord('a', options.instance, receivedHeaders(req.rawHeaders));
    try {
      const downstream = await getChain(next, agent);
      res.json({ hops: [hop, ...downstream.hops] });
    } catch (error) {
      res.status(502).json({ error: (error as Error).message, hops: [hop] });
    }
  });

  const server = app.listen(options.port, options.host);
  server.keepAliveTimeout = SERVER_KEEP_ALIVE_MS;
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      agent.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
