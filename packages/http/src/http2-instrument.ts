import type { ClientHttp2Session } from 'node:http2';
import { createRequire } from 'node:module';
import { Duplex } from 'node:stream';
import { findSessionKeys, type SessionKeys, withForkHeaders } from './http2-client.js';

const require = createRequire(import.meta.url);
const http2 = require('node:http2') as typeof import('node:http2');

type RequestMethod = (this: ClientHttp2Session, ...args: unknown[]) => unknown;

/**
 * A session on a socket that goes nowhere, made only to reach `ClientHttp2Session.prototype`
 * (Node does not export the class) and to learn where sessions keep their authority.
 */
function probe(): { prototype: { request: RequestMethod }; keys: SessionKeys } {
  const socket = new Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  const session = http2.connect('http://kubefork.invalid', { createConnection: () => socket });
  session.on('error', () => {});
  try {
    return { prototype: Object.getPrototypeOf(session), keys: findSessionKeys(session) };
  } finally {
    session.destroy();
    socket.destroy();
  }
}

/**
 * Replaces `ClientHttp2Session.prototype.request`, so every session's requests carry the fork,
 * sessions opened before installation included (they share the prototype). Node ≥ 22.17 and 24
 * publish `http2.client.stream.created`, but only after the header block has been built from
 * the headers, so a subscriber cannot add one; Node 20 has no such channel. Returns the function
 * that takes the wrapper out again.
 */
export function patchHttp2Sessions(): () => void {
  const { prototype, keys } = probe();
  const original = prototype.request;
  const state = { active: true };
  const request = function request(this: ClientHttp2Session, ...args: unknown[]): unknown {
    if (state.active && args.length > 0) args[0] = withForkHeaders(this, args[0], keys);
    else if (state.active) {
      const headers = withForkHeaders(this, undefined, keys);
      if (headers !== undefined) args.push(headers);
    }
    return original.apply(this, args);
  };
  prototype.request = request;
  return () => {
    state.active = false;
    // Someone who wrapped ours since keeps their wrapper, and ours passes straight through.
    if (prototype.request === request) prototype.request = original;
  };
}
