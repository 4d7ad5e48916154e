// Runs in a fresh app that installed the packed tarballs and the newest peers for its Node line:
// every framework integration carries a fork through a real loopback server. Prints JSON.
import '@kubefork/auto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { getForkId, runWithForkId } from '@kubefork/context';
import { forkContext } from '@kubefork/express';
import forkFastify from '@kubefork/fastify';
import { forkInterceptor } from '@kubefork/fetch';
import { forkClientInterceptor, forkServerInterceptor } from '@kubefork/grpc';
import express from 'express';
import Fastify from 'fastify';
import { Agent, request } from 'undici';

const seen: Record<string, string | undefined> = {};
const downstream = createServer((req, res) => {
  const value = req.headers['x-fork-identifier'];
  seen[req.url ?? ''] = typeof value === 'string' ? value : undefined;
  res.end('ok');
});

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

const downstreamUrl = await listen(downstream);

const app = express();
app.use(forkContext());
app.get('/', async (_req, res) => {
  await (await fetch(`${downstreamUrl}/express-fetch`)).text();
  res.send(getForkId() ?? '');
});
const expressServer = createServer(app);
const expressUrl = await listen(expressServer);

const fastify = Fastify();
await fastify.register(forkFastify);
const agent = new Agent().compose(forkInterceptor());
fastify.get('/', async () => {
  const response = await request(`${downstreamUrl}/fastify-undici`, { dispatcher: agent });
  await response.body.text();
  return getForkId() ?? '';
});
const fastifyUrl = await fastify.listen({ port: 0, host: '127.0.0.1' });

const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString()) as unknown,
};
const service = {
  echo: {
    path: '/smoke.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
} satisfies grpc.ServiceDefinition;
const grpcServer = new grpc.Server({ interceptors: [forkServerInterceptor()] });
grpcServer.addService(service, {
  echo: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, getForkId()),
});
const port = await new Promise<number>((resolve, reject) => {
  grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
    error ? reject(error) : resolve(bound),
  );
});
const Client = grpc.makeGenericClientConstructor(service, 'Echo');
const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
  interceptors: [forkClientInterceptor()],
});

const result = {
  express: await (await fetch(expressUrl, { headers: { 'x-fork-identifier': 'alice' } })).text(),
  fastify: await (await fetch(fastifyUrl, { headers: { 'x-fork-identifier': 'bob' } })).text(),
  grpc: await runWithForkId(
    'carol',
    () =>
      new Promise<unknown>((resolve, reject) => {
        client.makeUnaryRequest(
          service.echo.path,
          json.serialize,
          json.deserialize,
          {},
          (error: grpc.ServiceError | null, value?: unknown) =>
            error ? reject(error) : resolve(value),
        );
      }),
  ),
  downstream: seen,
};

client.close();
grpcServer.forceShutdown();
await fastify.close();
await agent.close();
expressServer.close();
downstream.close();
console.log(JSON.stringify(result));
