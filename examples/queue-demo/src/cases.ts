// The requests of the queue demo and the fork each side must see, written out by hand so that a
// propagation bug cannot hide behind an expectation computed by the code under test.
import type { OutgoingHttpHeaders } from 'node:http';
import type { InvalidReason } from '@kubefork/context';

export interface QueueCase {
  /** What the request carries, as shown in the table. */
  readonly label: string;
  /** HTTP headers of the request to E; undefined: no HTTP request, a raw NATS message instead. */
  readonly http?: OutgoingHttpHeaders;
  /** For the raw case: the headers of a message published straight to the subject. */
  readonly raw?: Readonly<Record<string, string>>;
  /** The fork E's handler must see (null: baseline); undefined when E is not involved. */
  readonly e?: string | null;
  /** The fork F's handler must see; null: baseline. */
  readonly f: string | null;
  /** The reason an `onInvalid` must be told, and whose. */
  readonly invalid?: { readonly by: 'E' | 'F'; readonly reason: InvalidReason };
}

export const QUEUE_CASES: readonly QueueCase[] = Object.freeze([
  { label: 'no header', http: {}, e: null, f: null },
  {
    label: 'x-fork-identifier: alice',
    http: { 'x-fork-identifier': 'alice' },
    e: 'alice',
    f: 'alice',
  },
  { label: 'x-fork-identifier: bob', http: { 'x-fork-identifier': 'bob' }, e: 'bob', f: 'bob' },
  {
    label: 'baggage: userId=42,x-fork-identifier=alice',
    http: { baggage: 'userId=42,x-fork-identifier=alice' },
    e: 'alice',
    f: 'alice',
  },
  {
    label: 'x-fork-identifier: ../alice',
    http: { 'x-fork-identifier': '../alice' },
    e: null,
    f: null,
    invalid: { by: 'E', reason: 'pattern' },
  },
  {
    label: 'NATS message, x-fork-identifier: ../alice',
    raw: { 'x-fork-identifier': '../alice' },
    f: null,
    invalid: { by: 'F', reason: 'pattern' },
  },
]);
