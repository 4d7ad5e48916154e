import type { ClientRequest } from 'node:http';
import { getForkId } from '@kubefork/context';
import { forkConfig, type HeaderAccess, injectForkHeaders } from '@kubefork/context/integration';
import { isAmendable, type SerializedRequest, serializedHeadAccess } from './raw-head.js';

/** Headers of a request that are still kept as a map (the usual case). */
const outgoingAccess: HeaderAccess<ClientRequest> = {
  get(request, name) {
    const value = request.getHeader(name);
    if (value === undefined) return undefined;
    return Array.isArray(value) ? value.join(', ') : String(value);
  },
  set(request, name, value) {
    request.setHeader(name, value);
  },
};

/**
 * Adds the current fork to a client request that has just been created. Does nothing outside
 * a fork, for destinations `propagateTo` rejects, and for a request whose head was already
 * written together with body bytes (nothing can be added then). Never throws: the caller's
 * request must not fail because of us.
 */
export function injectIntoClientRequest(request: ClientRequest): void {
  if (getForkId() === undefined) return;
  try {
    const serialized = request as SerializedRequest;
    if (typeof serialized._header !== 'string') {
      injectForkHeaders(request, outgoingAccess, target(request, outgoingAccess));
    } else if (isAmendable(serialized)) {
      injectForkHeaders(serialized, serializedHeadAccess, target(serialized, serializedHeadAccess));
    }
  } catch {
    // Deliberately ignored: a request we cannot amend goes out as the caller built it.
  }
}

/**
 * The URL `propagateTo` judges, only built when one is configured: the request's protocol,
 * authority (its Host header, which is what the mesh routes on, else the host it connects to)
 * and path.
 */
function target<C extends ClientRequest>(request: C, access: HeaderAccess<C>): string | undefined {
  if (forkConfig().propagateTo === undefined) return undefined;
  let authority = access.get(request, 'host');
  if (authority === undefined) {
    const host = request.host;
    authority = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  }
  return `${request.protocol}//${authority}${request.path}`;
}
