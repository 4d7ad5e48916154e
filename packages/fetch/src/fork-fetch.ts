import { getForkId } from '@kubefork/context';
import { forkConfig, injectForkHeaders, invalidOption } from '@kubefork/context/integration';
import { headersAccess } from './headers-access.js';
import { followRedirects } from './redirect.js';

const FORKED = Symbol.for('kubefork.fetch.forked');

type Fetch = typeof fetch;

function asRequest(input: unknown): Request | undefined {
  return typeof input === 'object' &&
    input !== null &&
    !(input instanceof URL) &&
    typeof (input as Request).url === 'string'
    ? (input as Request)
    : undefined;
}

/**
 * Wraps a `fetch` that `instrumentFetch()` cannot see (one that does not dispatch through
 * undici, or that answers before it: node-fetch, a mocking library's replacement of
 * `globalThis.fetch`) so that its calls in a fork carry the fork: the header once (a value
 * the caller set wins) and our member merged into `baggage`. Outside a fork it calls
 * `fetchImpl` unchanged. Wrapping an already wrapped fetch returns it as it is.
 *
 * When `propagateTo` is configured, the wrapper follows redirects itself (`redirect: 'manual'`
 * underneath, same rules as the Fetch standard §4.4) so that every hop is judged on its own;
 * the final response then reports `redirected: true` as usual.
 *
 * @param fetchImpl the fetch to wrap. Default: `globalThis.fetch` at the time of the call.
 * @example
 * import { forkFetch } from '@kubefork/fetch';
 * // after e.g. msw's server.listen() replaced it:
 * globalThis.fetch = forkFetch(globalThis.fetch);
 */
export function forkFetch(fetchImpl: Fetch = globalThis.fetch): Fetch {
  if (typeof fetchImpl !== 'function') {
    throw invalidOption('fetchImpl', fetchImpl, 'a fetch function');
  }
  if ((fetchImpl as Fetch & { [FORKED]?: true })[FORKED] === true) return fetchImpl;
  const forkedFetch = function forkedFetch(input: string | URL | Request, init?: RequestInit) {
    if (getForkId() === undefined) return fetchImpl(input, init);
    return fetchInFork(fetchImpl, input, init);
  };
  Object.defineProperty(forkedFetch, FORKED, { value: true });
  return forkedFetch;
}

// Async so that a bad argument rejects the promise, as fetch does, instead of throwing.
async function fetchInFork(
  fetchImpl: Fetch,
  input: string | URL | Request,
  init: RequestInit | undefined,
): Promise<Response> {
  const request = asRequest(input);
  const url = request?.url ?? String(input);
  const headers = new Headers(init?.headers ?? request?.headers);
  const redirect = init?.redirect ?? request?.redirect ?? 'follow';
  if (forkConfig().propagateTo !== undefined && redirect === 'follow') {
    return followRedirects(fetchImpl, url, request, init, headers);
  }
  if (!injectForkHeaders(headers, headersAccess, url)) return fetchImpl(input, init);
  return fetchImpl(input, { ...init, headers });
}
