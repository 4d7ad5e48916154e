// Service B of the gRPC hop: a grpc-js server with one unary method.

import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { chainService, RESPONSE } from './grpc-service.js';
import { FORK_HEADER, parseChildArgs } from './protocol.js';
import { createCounters, record, serveOrchestrator } from './service-process.js';
import { loadVariant } from './variants/variant.js';

const args = parseChildArgs();
const variant = await loadVariant(args.variant);
await variant.setup('grpc');
const grpc = await import('@grpc/grpc-js');

const counters = createCounters();
const server = new grpc.Server(await variant.grpcServerOptions());
server.addService(chainService, {
  relay: variant.wrapUnary(function relay(
    call: ServerUnaryCall<Buffer, Buffer>,
    callback: sendUnaryData<Buffer>,
  ) {
    record(
      counters,
      call.metadata.get(FORK_HEADER)[0],
      call.metadata.get('baggage')[0],
      variant.currentFork(),
    );
    callback(null, RESPONSE);
  }),
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  serveOrchestrator(counters, port, () => server.forceShutdown());
});
