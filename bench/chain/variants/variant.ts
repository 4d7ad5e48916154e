// What a propagation variant contributes to each kind of service in a benchmark chain.

import type { handleUnaryCall, Interceptor, ServerOptions } from '@grpc/grpc-js';
import type { RequestHandler } from 'express';
import type { FastifyInstance } from 'fastify';
import type { VariantName } from '../protocol.js';

export type Framework = 'express' | 'fastify' | 'grpc';

export interface Variant {
  /**
   * Process-wide setup. Runs before any framework is loaded: OpenTelemetry patches modules as
   * they are required.
   */
  setup(framework: Framework): Promise<void>;
  /** Middleware mounted first on an Express app, if the variant has one. */
  expressMiddleware(): Promise<RequestHandler | undefined>;
  /** Registers the variant on a Fastify app before its routes. */
  registerFastify(app: FastifyInstance): Promise<void>;
  /** Interceptors for a gRPC client (service A's outbound channel). */
  grpcClientInterceptors(): Promise<Interceptor[]>;
  /** Options for a gRPC server (service B), e.g. server interceptors. */
  grpcServerOptions(): Promise<ServerOptions>;
  /** Wraps a unary gRPC handler (for variants that scope per handler instead of intercepting). */
  wrapUnary<Req, Res>(handler: handleUnaryCall<Req, Res>): handleUnaryCall<Req, Res>;
  /** The fork the current async context carries, read through the variant's own API. */
  currentFork(): string | undefined;
}

export async function loadVariant(name: VariantName): Promise<Variant> {
  switch (name) {
    case 'bare':
      return (await import('./bare.js')).bare;
    case 'minimum':
      return (await import('./minimum.js')).minimum;
    case 'kubefork':
      return (await import('./kubefork.js')).kubefork;
    case 'otel':
      return (await import('./otel.js')).otel;
  }
}
