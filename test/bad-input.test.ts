// Bad input: every hostile fork-id header of the corpus, sent straight to each server
// integration. Whatever it is, the service stays up, serves the request as baseline (or the
// protocol layer refuses it first), tells onInvalid why, and sends nothing fork-like on.
import {
  expectedInstance,
  HOP_PATH,
  type Hop,
  type InstanceStats,
  type Mesh,
  reasonsSince,
  requestChain,
  startMesh,
} from '@kubefork/example-fork-mesh';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fieldsOf,
  HOSTILE_INPUTS,
  type HostileInput,
  type Outcome,
} from './support/hostile-inputs.js';
import { rawGrpcCall } from './support/raw-h2.js';
import { rawHttpGet } from './support/raw-http.js';

const TARGETS = [
  { integration: 'Express', instance: 'a', protocol: 'http', chain: ['a', 'b', 'c', 'e'] },
  { integration: 'Fastify', instance: 'b', protocol: 'http', chain: ['b', 'c', 'e'] },
  { integration: 'gRPC (grpc-js)', instance: 'c', protocol: 'grpc', chain: ['c', 'e'] },
  { integration: 'node:http', instance: 'e', protocol: 'http', chain: ['e'] },
] as const;

type Target = (typeof TARGETS)[number];

interface Sent {
  /** The protocol layer refused the request: HTTP status 400/431, or an HTTP/2 stream reset. */
  refused: boolean;
  /** HTTP status, or 200 for a gRPC call that answered. */
  status: number;
  hops: readonly Hop[];
}

let mesh: Mesh;

beforeAll(async () => {
  mesh = await startMesh();
});

afterAll(async () => {
  await mesh?.stop();
});

async function send(target: Target, input: HostileInput): Promise<Sent> {
  const port = mesh.instance(target.instance).port;
  if (target.protocol === 'http') {
    const reply = await rawHttpGet(port, '/chain', input.lines);
    const hops = reply.status === 200 ? (JSON.parse(reply.body) as { hops: Hop[] }).hops : [];
    return { refused: reply.status === 400 || reply.status === 431, status: reply.status, hops };
  }
  const reply = await rawGrpcCall(port, HOP_PATH, fieldsOf(input));
  const message = reply.messages[0] as { hops?: Hop[] } | undefined;
  const refused = reply.resetCode !== undefined || reply.goAwayCode !== undefined;
  return { refused, status: message?.hops ? 200 : 0, hops: message?.hops ?? [] };
}

async function snapshot(): Promise<Map<string, InstanceStats>> {
  const entries = await Promise.all(
    mesh.instances.map(async ({ name }) => [name, await mesh.stats(name)] as const),
  );
  return new Map(entries);
}

/** Per instance: requests served and onInvalid reasons received between two snapshots. */
function changes(before: Map<string, InstanceStats>, after: Map<string, InstanceStats>) {
  const served: Record<string, number> = {};
  const reasons: Record<string, string[]> = {};
  for (const [name, stats] of after) {
    const earlier = before.get(name)!;
    served[name] = stats.served - earlier.served;
    reasons[name] = reasonsSince(earlier.invalid, stats.invalid);
  }
  return { served, reasons };
}

/** The answer of a baseline request: baseline instances from the target on, no fork anywhere. */
function expectBaselineAnswer(target: Target, sent: Sent, served: Record<string, number>): void {
  expect(sent.status).toBe(200);
  expect(sent.hops.map((hop) => [hop.instance, hop.fork])).toEqual(
    target.chain.map((name) => [name, null]),
  );
  // Nothing re-emitted: no hop after the target received a fork header or baggage.
  for (const hop of sent.hops.slice(1)) {
    expect({ instance: hop.instance, header: hop.header, baggage: hop.baggage }).toEqual({
      instance: hop.instance,
      header: [],
      baggage: [],
    });
  }
  // Exactly the baseline chain served it; no fork instance saw a request.
  expect(served).toEqual(
    Object.fromEntries(
      mesh.instances.map(({ name }) => [name, target.chain.includes(name as never) ? 1 : 0]),
    ),
  );
}

function describeOutcome(outcome: Outcome): string {
  if (outcome === 'refused') return "refused by Node's HTTP parser before any integration code";
  if (outcome === 'dropped') return 'dropped by the HTTP/2 layer or grpc-js before any interceptor';
  if (outcome === 'not-a-fork-id') return 'served as baseline, nothing reported (not a fork id)';
  return `served as baseline, onInvalid told "${outcome.invalid}"`;
}

for (const target of TARGETS) {
  describe(`${target.integration} (service ${target.instance}) given hostile input`, () => {
    for (const input of HOSTILE_INPUTS) {
      const outcome = target.protocol === 'http' ? input.http : input.grpc;
      it(`${input.name}: ${describeOutcome(outcome)}, nothing re-emitted`, async () => {
        const before = await snapshot();
        const sent = await send(target, input);
        const { served, reasons } = changes(before, await snapshot());
        const reported = reasons[target.instance];
        delete reasons[target.instance];

        // Whatever happened, no other service was told about an invalid value: none reached it.
        expect(Object.values(reasons).flat()).toEqual([]);
        if (outcome === 'refused') {
          expect(sent.refused, `status ${sent.status}`).toBe(true);
          expect(Object.values(served).every((count) => count === 0)).toBe(true);
          expect(reported).toEqual([]);
        } else if (outcome === 'dropped') {
          if (sent.refused) expect(Object.values(served).every((count) => count === 0)).toBe(true);
          else expectBaselineAnswer(target, sent, served);
          expect(reported).toEqual([]);
        } else {
          expectBaselineAnswer(target, sent, served);
          expect(reported).toEqual(outcome === 'not-a-fork-id' ? [] : [outcome.invalid]);
        }
      });
    }

    it('is still running after the corpus and still routes a valid fork', async () => {
      expect(mesh.exited()).toEqual([]);
      const direct = await send(target, {
        name: 'a valid fork',
        lines: ['x-fork-identifier: alice'],
        http: 'not-a-fork-id',
        grpc: 'not-a-fork-id',
      });
      // Sent straight to the target; every later hop goes through the router to alice's forks.
      expect(direct.hops.map((hop) => [hop.instance, hop.fork])).toEqual(
        target.chain.map((name) => [
          name === target.instance ? name : expectedInstance(mesh.vsconfigs, name, 'alice'),
          'alice',
        ]),
      );
      const viaRouter = await requestChain(mesh.url, { 'x-fork-identifier': 'alice' });
      expect(viaRouter.hops.map((hop) => hop.instance)).toEqual(['a', 'b-alice', 'c', 'e-alice']);
    });
  });
}
