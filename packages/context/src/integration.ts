// `@kubefork/context/integration`: the helpers kubefork's own integrations (http, fetch, grpc,
// express, fastify, otel, amqp, kafka, nats) are built from, for authors of new integrations.
// A service needs only the main entry.

export type { BaggageMember } from './baggage.js';
export {
  BAGGAGE_MAX_BYTES,
  BAGGAGE_MAX_MEMBER_BYTES,
  BAGGAGE_MAX_MEMBERS,
  parseBaggage,
  serializeBaggage,
} from './baggage.js';
export { forkConfig } from './configure.js';
export { ERR_INVALID_FORK_ID, ERR_INVALID_OPTION, invalidOption } from './errors.js';
export { installShared } from './install.js';
export { checkOptions, checkTrust, isTrusted } from './options.js';
export type { HeaderAccess } from './outbound.js';
export { injectForkHeaders, shouldPropagate } from './outbound.js';
export { bindFork, registerForkSource } from './scope.js';
export { reportInvalidValue } from './validate.js';
export { VERSION } from './version.js';
