// The requests of the demo, with where every hop must go. The expectations are written out by
// hand from the VSConfigs in k8s/forks/ (alice forked B and E, bob forked E), so a routing bug
// cannot hide behind an expectation computed by the code under test.
import type { OutgoingHttpHeaders } from 'node:http';
import type { InvalidReason } from '@kubefork/context';
import type { ServiceName } from './topology.js';

export interface DemoCase {
  /** What the request carries, as shown in the table. */
  readonly label: string;
  readonly headers: OutgoingHttpHeaders;
  /** The fork every hop must run in; `null`: baseline. */
  readonly fork: string | null;
  /** The instance that must serve each service. */
  readonly expect: Readonly<Record<ServiceName, string>>;
  /** For an invalid value: the reason A's `onInvalid` must be given. */
  readonly invalid?: InvalidReason;
  /** Why the route is what it is, in a few words. */
  readonly note: string;
}

const BASELINE = { a: 'a', b: 'b', c: 'c', e: 'e' } as const;

export const DEMO_CASES: readonly DemoCase[] = Object.freeze([
  {
    label: 'no header',
    headers: {},
    fork: null,
    expect: BASELINE,
    note: 'shared services everywhere',
  },
  {
    label: 'x-fork-identifier: alice',
    headers: { 'x-fork-identifier': 'alice' },
    fork: 'alice',
    expect: { a: 'a', b: 'b-alice', c: 'c', e: 'e-alice' },
    note: "alice's forks of B and E",
  },
  {
    label: 'x-fork-identifier: bob',
    headers: { 'x-fork-identifier': 'bob' },
    fork: 'bob',
    expect: { a: 'a', b: 'b', c: 'c', e: 'e-bob' },
    note: 'bob forked E only',
  },
  {
    label: 'baggage: userId=42,x-fork-identifier=alice',
    headers: { baggage: 'userId=42,x-fork-identifier=alice' },
    fork: 'alice',
    expect: { a: 'a', b: 'b-alice', c: 'c', e: 'e-alice' },
    note: 'W3C baggage alone carries the fork',
  },
  {
    label: 'x-fork-identifier: carol',
    headers: { 'x-fork-identifier': 'carol' },
    fork: 'carol',
    expect: BASELINE,
    note: 'unknown fork: carried along, nothing to route to',
  },
  {
    label: 'x-fork-identifier: ../alice',
    headers: { 'x-fork-identifier': '../alice' },
    fork: null,
    expect: BASELINE,
    invalid: 'pattern',
    note: 'invalid: ignored, served as baseline',
  },
]);
