// The gRPC face of service C: one unary method, messages as JSON, no .proto file to compile.
import {
  type Client,
  type ClientUnaryCall,
  credentials,
  type Interceptor,
  type Metadata,
  type MethodDefinition,
  makeGenericClientConstructor,
  type requestCallback,
} from '@grpc/grpc-js';
import type { ChainReply } from './hop.js';

/** The request carries nothing: the fork travels in metadata, as in any real service. */
export type HopRequest = Record<string, never>;

function serialize(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function deserialize<T>(bytes: Buffer): T {
  return JSON.parse(bytes.toString('utf8')) as T;
}

/** Full method path, as a raw HTTP/2 client must send it: `/kubefork.example.Chain/Hop`. */
export const HOP_PATH = '/kubefork.example.Chain/Hop';

/** The service definition `server.addService` and the client constructor take. */
export const chainService = {
  hop: {
    path: HOP_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: serialize,
    requestDeserialize: deserialize<HopRequest>,
    responseSerialize: serialize,
    responseDeserialize: deserialize<ChainReply>,
    originalName: 'hop',
  } satisfies MethodDefinition<HopRequest, ChainReply>,
};

export interface ChainClient extends Client {
  hop(
    request: HopRequest,
    metadata: Metadata,
    callback: requestCallback<ChainReply>,
  ): ClientUnaryCall;
  hop(request: HopRequest, callback: requestCallback<ChainReply>): ClientUnaryCall;
}

const ChainClientConstructor = makeGenericClientConstructor(chainService, 'Chain');

/** A plaintext client of C at `target` (`host:port`), with the given interceptors. */
export function chainClient(target: string, interceptors: Interceptor[] = []): ChainClient {
  return new ChainClientConstructor(target, credentials.createInsecure(), {
    interceptors,
  }) as unknown as ChainClient;
}

/** Calls `Hop` and resolves with C's reply. */
export function callHop(client: ChainClient): Promise<ChainReply> {
  return new Promise((resolve, reject) => {
    client.hop({}, (error, reply) => {
      if (error !== null || reply === undefined) reject(error ?? new Error('C sent no reply'));
      else resolve(reply);
    });
  });
}
