// Service C: a grpc-js server with the fork server interceptor, calling E with global fetch.
// @kubefork/auto, loaded first by serve.ts, adds the fork to that call.
import { type handleUnaryCall, type Metadata, Server, ServerCredentials } from '@grpc/grpc-js';
import { forkServerInterceptor } from '@kubefork/grpc';
import { chainService, type HopRequest } from '../chain-grpc.js';
import { type ChainReply, hopRecord, parseChainReply } from '../hop.js';
import { type RunningService, requireDownstream, type ServiceOptions } from './service.js';

/** Text values of a metadata key (a `-bin` key would hold Buffers; ours never is one). */
function textValues(metadata: Metadata, key: string): string[] {
  return metadata.get(key).map((value) => (typeof value === 'string' ? value : ''));
}

export async function start(options: ServiceOptions): Promise<RunningService> {
  const next = `${requireDownstream('c', options.downstream)}/chain`;
  const server = new Server({ interceptors: [forkServerInterceptor()] });
  const hop: handleUnaryCall<HopRequest, ChainReply> = async (call, callback) => {
    const record = hopRecord('c', options.instance, {
      header: textValues(call.metadata, 'x-fork-identifier'),
      baggage: textValues(call.metadata, 'baggage'),
    });
    try {
      const response = await fetch(next);
      const downstream = parseChainReply('e', response.status, await response.text());
      callback(null, { hops: [record, ...downstream.hops] });
    } catch (error) {
      callback(error as Error);
    }
  };
  server.addService(chainService, { hop });

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${options.host}:${options.port}`,
      ServerCredentials.createInsecure(),
      (error, bound) => (error ? reject(error) : resolve(bound)),
    );
  });
  return {
    port,
    close() {
      server.forceShutdown();
      return Promise.resolve();
    },
  };
}
