// The one unary method of the gRPC hop. Messages are raw bytes (identity serialization): the
// benchmark measures propagation, not protobuf.

import type { ServiceDefinition } from '@grpc/grpc-js';

const identity = (value: Buffer): Buffer => value;

export const RELAY_PATH = '/kubefork.bench.Chain/Relay';
export const REQUEST = Buffer.from('{"item":42}');
export const RESPONSE = Buffer.from('{"ok":true}');

export const chainService = {
  relay: {
    path: RELAY_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    originalName: 'relay',
  },
} satisfies ServiceDefinition;

export { identity };
