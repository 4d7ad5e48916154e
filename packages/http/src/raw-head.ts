import type { ClientRequest } from 'node:http';
import type { HeaderAccess } from '@kubefork/context/integration';

/**
 * Node's internal state of a request whose head is already serialised. Headers given as an
 * array (`headers: ['name', 'value', …]`) are serialised in the `ClientRequest` constructor
 * (`_storeHeader`), so `setHeader` throws ERR_HTTP_HEADERS_SENT although nothing has reached a
 * socket; an `Expect` header or `flushHeaders()` also queue the head in `outputData` at once. A
 * socket is attached on a later tick at the earliest (`onSocket` defers with `nextTick`), so
 * right after creation the head can still be amended: `_header` until it is queued, and the
 * queued copy while it is the whole first pending chunk. These fields are unchanged from Node 20
 * through 24 and the test suite checks them on each.
 */
export interface SerializedRequest extends ClientRequest {
  _header: string | null;
  _headerSent: boolean;
  outputData?: { data: unknown }[];
  outputSize?: number;
}

const CRLF = '\r\n';

/**
 * True when the serialised head has not left the process: it is not queued yet, or it is
 * queued alone (a body written with it, e.g. by `end(body)`, makes it final).
 */
export function isAmendable(request: SerializedRequest): boolean {
  return !request._headerSent || request.outputData?.[0]?.data === request._header;
}

/** Value of header `name` (lower-case) in a serialised head, several lines joined with ", ". */
function get(request: SerializedRequest, name: string): string | undefined {
  const head = request._header ?? '';
  let value: string | undefined;
  // Line 0 is the request line; the head ends with an empty line.
  let start = head.indexOf(CRLF) + 2;
  while (start > 1 && start < head.length) {
    const end = head.indexOf(CRLF, start);
    if (end === -1 || end === start) break;
    if (isLineOf(head, start, name)) {
      const line = head.slice(start + name.length + 1, end).trim();
      value = value === undefined ? line : `${value}, ${line}`;
    }
    start = end + 2;
  }
  return value;
}

/** Replaces every line of header `name` (lower-case) by one `name: value` line at the end. */
function set(request: SerializedRequest, name: string, value: string): void {
  const head = request._header ?? '';
  const first = head.indexOf(CRLF) + 2;
  let next = head.slice(0, first);
  let start = first;
  while (start < head.length) {
    const end = head.indexOf(CRLF, start);
    if (end === -1 || end === start) break;
    if (!isLineOf(head, start, name)) next += head.slice(start, end + 2);
    start = end + 2;
  }
  next += `${name}: ${value}${CRLF}${CRLF}`;
  const queued = request._headerSent ? request.outputData?.[0] : undefined;
  if (queued !== undefined && queued.data === head) {
    queued.data = next;
    if (typeof request.outputSize === 'number') request.outputSize += next.length - head.length;
  }
  request._header = next;
}

function isLineOf(head: string, start: number, name: string): boolean {
  return (
    head.charCodeAt(start + name.length) === 0x3a /* ':' */ &&
    head.slice(start, start + name.length).toLowerCase() === name
  );
}

/** Reads and amends the serialised head of a request that has not been sent yet. */
export const serializedHeadAccess: HeaderAccess<SerializedRequest> = { get, set };
