import { injectForkHeaders } from '@kubefork/context/integration';
import { headersAccess } from './headers-access.js';

/** Fetch standard §4.4 HTTP-redirect fetch: the statuses it follows and its limit. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;
/** Dropped when a redirect turns the request into a GET without body (§4.4 step 12). */
const BODY_HEADERS = [
  'content-encoding',
  'content-language',
  'content-location',
  'content-type',
  'content-length',
];
/** Dropped on a cross-origin hop (§4.4 step 13; undici drops the same). */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];

function fetchFailed(reason: string): TypeError {
  return new TypeError('fetch failed', { cause: new Error(reason) });
}

/** A body fetch can send again: anything but a stream or an async iterable. */
function isReplayable(body: unknown): boolean {
  return (
    body === null ||
    body === undefined ||
    typeof body === 'string' ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof URLSearchParams ||
    body instanceof Blob ||
    body instanceof FormData
  );
}

/**
 * Performs a request and follows its redirects one hop at a time, so that the fork headers of
 * each hop are decided by `propagateTo` for that hop's URL (the wrapped fetch, following on its
 * own, would carry the first hop's headers to every later one). The caller's own headers are
 * kept as fetch keeps them.
 */
export async function followRedirects(
  fetchImpl: typeof fetch,
  url: string,
  request: Request | undefined,
  init: RequestInit | undefined,
  callerHeaders: Headers,
): Promise<Response> {
  let method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
  let body: unknown = init?.body;
  if (body === undefined && request?.body) body = await request.arrayBuffer();
  const base: RequestInit = { signal: request?.signal ?? null, ...init };
  let current = new URL(url);
  for (let hops = 0; ; hops++) {
    const headers = new Headers(callerHeaders);
    injectForkHeaders(headers, headersAccess, current);
    const response = await fetchImpl(current.href, {
      ...base,
      method,
      body: body as RequestInit['body'],
      headers,
      redirect: 'manual',
    });
    const location = REDIRECT_STATUSES.has(response.status)
      ? response.headers.get('location')
      : null;
    if (location === null) {
      if (hops > 0) Object.defineProperty(response, 'redirected', { value: true });
      return response;
    }
    if (hops === MAX_REDIRECTS) throw fetchFailed('redirect count exceeded');
    const next = new URL(location, current);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw fetchFailed('URL scheme must be a HTTP(S) scheme');
    }
    const status = response.status;
    if (
      (status === 303 && method !== 'GET' && method !== 'HEAD') ||
      ((status === 301 || status === 302) && method === 'POST')
    ) {
      method = 'GET';
      body = undefined;
      for (const name of BODY_HEADERS) callerHeaders.delete(name);
    } else if (status !== 303 && !isReplayable(body)) {
      throw fetchFailed('cannot follow a redirect with a streamed body');
    }
    if (next.origin !== current.origin) {
      for (const name of CREDENTIAL_HEADERS) callerHeaders.delete(name);
    }
    await response.body?.cancel();
    current = next;
  }
}
