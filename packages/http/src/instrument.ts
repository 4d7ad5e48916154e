import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { installShared } from '@kubefork/context/integration';
import { injectIntoClientRequest } from './client.js';
import { patchHttp2Sessions } from './http2-instrument.js';

// The modules' export objects, which are what `require` and the default import hand out; an
// ESM namespace (`import * as http`) is read-only.
const require = createRequire(import.meta.url);
const http = require('node:http') as typeof import('node:http');
const https = require('node:https') as typeof import('node:https');

/**
 * How client requests are reached: the diagnostics channel `http.client.request.created`
 * (published by the `ClientRequest` constructor, Node ≥22.12 and ≥23.2), or, on older Node,
 * patched `request` and `get` functions of `node:http` and `node:https`.
 */
export type HttpInstrumentationMode = 'channel' | 'patch';

const CREATED_CHANNEL = 'http.client.request.created';

/** True when this Node publishes `http.client.request.created` (nodejs/node#55586). */
export function hasRequestCreatedChannel(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 2) || (major === 22 && minor >= 12);
}

/** The mode `instrumentHttp` uses on this Node. */
export const DEFAULT_MODE: HttpInstrumentationMode = hasRequestCreatedChannel()
  ? 'channel'
  : 'patch';

/**
 * Makes every `node:http` and `node:https` client request, and every `node:http2` client
 * stream (`http2.connect(url).request(headers)`), started inside a fork carry it: the
 * `x-fork-identifier` header exactly once (a value the caller set wins) and our member merged
 * into `baggage`; destinations rejected by `propagateTo` get neither. Returns a function that
 * uninstalls.
 *
 * Installing is idempotent: while installed, further calls only count another user, and the
 * instrumentation is removed when every returned function has been called (each works once).
 * On Node ≥22.12 this subscribes to the diagnostics channel `http.client.request.created`; on
 * older Node it patches `request` and `get` of `node:http` and `node:https` (and updates ESM
 * named imports), so call it before other modules copy those functions, e.g. with
 * `node --import @kubefork/auto`. HTTP/2 is reached through `ClientHttp2Session.prototype.request`
 * on every Node, which also covers sessions opened before this call.
 *
 * @example
 * import { instrumentHttp } from '@kubefork/http';
 * const uninstall = instrumentHttp();
 * // … every http.request / https.get / axios / got call now carries the fork …
 * uninstall();
 */
export function instrumentHttp(): () => void {
  return installHttpInstrumentation(DEFAULT_MODE);
}

/** `instrumentHttp` with an explicit mode (tests run the patch mode on every Node). */
export function installHttpInstrumentation(mode: HttpInstrumentationMode): () => void {
  const uninstallHttp = installShared(Symbol.for('kubefork.http.instrumentation'), () =>
    mode === 'channel' ? subscribeChannel() : patchModules(),
  );
  // A key of its own: an older copy of this package in the process (which instruments node:http
  // only) must not keep HTTP/2 uninstrumented by holding the node:http installation.
  let uninstallHttp2: () => void;
  try {
    uninstallHttp2 = installShared(
      Symbol.for('kubefork.http2.instrumentation'),
      patchHttp2Sessions,
    );
  } catch (error) {
    // All or nothing: a caller who sees the error holds no installation.
    uninstallHttp();
    throw error;
  }
  return function uninstall() {
    uninstallHttp();
    uninstallHttp2();
  };
}

function onRequestCreated(message: unknown): void {
  injectIntoClientRequest((message as { request: ClientRequest }).request);
}

function subscribeChannel(): () => void {
  subscribe(CREATED_CHANNEL, onRequestCreated);
  return () => {
    unsubscribe(CREATED_CHANNEL, onRequestCreated);
  };
}

type RequestFunction = (...args: unknown[]) => ClientRequest;

/**
 * Replaces `request` and `get` of both modules. `https.request` does not go through
 * `http.request`, and each module's `get` calls its internal `request` and ends the request
 * before returning (too late to add a header), so `get` is rebuilt as the patched `request`
 * followed by `end()`, which is all Node's `get` does.
 */
function patchModules(): () => void {
  const state = { active: true };
  const restore = [patchModule(http, state), patchModule(https, state)];
  syncBuiltinESMExports();
  return () => {
    state.active = false;
    for (const undo of restore) undo();
    syncBuiltinESMExports();
  };
}

function patchModule(
  module: { request: unknown; get: unknown },
  state: { active: boolean },
): () => void {
  const originalRequest = module.request as RequestFunction;
  const originalGet = module.get;
  const request = function request(this: unknown, ...args: unknown[]): ClientRequest {
    const clientRequest = originalRequest.apply(this, args);
    if (state.active) injectIntoClientRequest(clientRequest);
    return clientRequest;
  };
  const get = function get(this: unknown, ...args: unknown[]): ClientRequest {
    const clientRequest = request.apply(this, args);
    clientRequest.end();
    return clientRequest;
  };
  module.request = request;
  module.get = get;
  return () => {
    // Someone who wrapped our functions after us keeps their wrapper; ours then passes through
    // (state.active is false) instead of being cut out of their chain.
    if (module.request === request) module.request = originalRequest;
    if (module.get === get) module.get = originalGet;
  };
}
