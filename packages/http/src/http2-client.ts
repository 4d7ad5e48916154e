import type { ClientHttp2Session } from 'node:http2';
import { getForkId } from '@kubefork/context';
import { forkConfig, injectForkHeaders } from '@kubefork/context/integration';
import {
  type Http2HeaderList,
  type Http2HeaderObject,
  listHeaderAccess,
  objectHeaderAccess,
} from './http2-headers.js';

/**
 * Where a session keeps the authority and protocol of the URL it was connected to (the
 * defaults of a request's `:authority` and `:scheme`). Node keeps them under module-private
 * symbols `Symbol(authority)` and `Symbol(protocol)` (unchanged from Node 20 through 24, checked
 * by the test suite); they are looked up once, on the probe session, by their descriptions.
 */
export interface SessionKeys {
  authority: symbol | undefined;
  protocol: symbol | undefined;
}

/** The keys of `session`'s authority and protocol, as far as they can be found. */
export function findSessionKeys(session: object): SessionKeys {
  const symbols = Object.getOwnPropertySymbols(session);
  return {
    authority: symbols.find((symbol) => symbol.description === 'authority'),
    protocol: symbols.find((symbol) => symbol.description === 'protocol'),
  };
}

/**
 * Whether @grpc/grpc-js sends this request: it calls `request` from its own connection and
 * queue callbacks, outside the async context of the call (on Node 24+ a baseline call went out
 * with another request's fork in the fork-mesh isolation test), and its calls get their fork from
 * @kubefork/grpc's client interceptor, which runs in the call's context. So we leave its
 * requests alone: the interceptor decides, as the README says.
 */
function isGrpcJs(headers: unknown): boolean {
  let agent: unknown;
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === 'user-agent') agent = headers[i + 1];
    }
  } else if (typeof headers === 'object' && headers !== null) {
    agent = objectHeaderAccess.get(headers as Http2HeaderObject, 'user-agent');
  }
  return typeof agent === 'string' && agent.startsWith('grpc-node-js/');
}

/**
 * The headers a request of `session` must go out with: `headers` itself outside a fork, else
 * a copy carrying the fork (the caller's object is never changed: it may be reused for a later
 * request outside the fork). Never throws: on any surprise the caller's headers go out as given.
 */
export function withForkHeaders(
  session: ClientHttp2Session,
  headers: unknown,
  keys: SessionKeys,
): unknown {
  if (getForkId() === undefined) return headers;
  try {
    if (isGrpcJs(headers)) return headers;
    if (headers === undefined) {
      const added: Http2HeaderObject = {};
      return injectForkHeaders(added, objectHeaderAccess, target(session, added, keys))
        ? added
        : headers;
    }
    if (Array.isArray(headers)) {
      const list: Http2HeaderList = headers.slice();
      injectForkHeaders(list, listHeaderAccess, target(session, list, keys));
      return list;
    }
    if (typeof headers === 'object' && headers !== null) {
      // As Node copies them: onto a null prototype (a `__proto__` key stays a key), symbol keys
      // such as `http2.sensitiveHeaders` included.
      const copy = Object.assign(Object.create(null), headers) as Http2HeaderObject;
      injectForkHeaders(copy, objectHeaderAccess, target(session, copy, keys));
      return copy;
    }
  } catch {
    // Deliberately ignored: the request goes out as the caller built it.
  }
  return headers;
}

/**
 * The URL `propagateTo` judges, only built when one is configured: `:scheme`, `:authority` and
 * `:path` as the request will send them (the session's defaults where the caller set none).
 * When the session's authority cannot be read the URL is unusable and propagation fails closed.
 */
function target<C>(session: ClientHttp2Session, headers: C, keys: SessionKeys): string | undefined {
  if (forkConfig().propagateTo === undefined) return undefined;
  const access = (Array.isArray(headers) ? listHeaderAccess : objectHeaderAccess) as {
    get(headers: C, name: string): string | undefined;
  };
  const own = session as unknown as Record<symbol, unknown>;
  const sessionProtocol = keys.protocol && own[keys.protocol];
  const scheme =
    access.get(headers, ':scheme') ??
    (typeof sessionProtocol === 'string' ? sessionProtocol.replace(/:$/, '') : 'invalid');
  const sessionAuthority = keys.authority && own[keys.authority];
  const authority =
    access.get(headers, ':authority') ??
    access.get(headers, 'host') ??
    (typeof sessionAuthority === 'string' ? sessionAuthority : '');
  const path = access.get(headers, ':path') ?? '/';
  // An empty authority makes `new URL` throw, which `propagateTo` treats as "do not send".
  return `${scheme}://${authority}${path.startsWith('/') ? path : `/${path}`}`;
}
