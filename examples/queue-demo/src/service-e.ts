// Service E: a node:http server in the fork of each request (withForkContext) that publishes one
// event per request through a forkNats connection, so the event carries the request's fork.
import { createServer, type Server } from 'node:http';
import { getForkId } from '@kubefork/context';
import { withForkContext } from '@kubefork/http';
import type { NatsConnection } from '@nats-io/nats-core';
import { type OrderEvent, SUBJECT } from './events.js';

export interface ServiceE {
  readonly url: string;
  close(): Promise<void>;
}

export async function startServiceE(nc: NatsConnection): Promise<ServiceE> {
  const server: Server = createServer(
    withForkContext(function handleOrder(request, response) {
      const url = new URL(request.url ?? '/', 'http://e');
      const event: OrderEvent = { request: Number(url.searchParams.get('request')) };
      // No header handling here: forkNats adds the fork of this request to the message.
      nc.publish(SUBJECT, JSON.stringify(event));
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ fork: getForkId() ?? null }));
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
