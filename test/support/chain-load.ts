// Drives many requests through the fork-mesh chain at a fixed concurrency on keep-alive
// connections and checks every answer hop by hop. Deterministic: the mix of forks comes from
// a seeded generator, so a failing run can be replayed.
import { Agent } from 'node:http';
import { type Hop, requestChain, SERVICES, type ServiceName } from '@kubefork/example-fork-mesh';

export interface LoadOptions {
  /** The mesh's entry (service A behind the router). */
  url: string;
  requests: number;
  concurrency: number;
  /** The fork ids requests are drawn from (uniformly). */
  forkIds: readonly string[];
  /** Share of requests sent without any fork header, 0–1. */
  baselineShare: number;
  seed: number;
  /** The instance that must serve `service` for a request in `fork` (null: baseline). */
  expectedInstance(service: ServiceName, fork: string | null): string;
}

export interface LoadReport {
  requests: number;
  /** Requests sent without a fork header. */
  baseline: number;
  /** Answers that were not 200 with one hop per service (or failed to arrive). */
  failed: number;
  /** Hops whose fork differed from the one the request carried (including a lost fork). */
  mismatches: number;
  /** Hops that ran in, or received, a fork id other than the request's own. */
  leaks: number;
  /** Hops served by another instance than the VSConfigs name. */
  misrouted: number;
  /** Leaves that did not receive the fork exactly once in the header and in baggage. */
  leafHeaderErrors: number;
  /** How many hops each instance served. */
  served: Record<string, number>;
  /** Client connections opened for the whole run. */
  connections: number;
  /** The first few problems, for the failure message. */
  samples: string[];
  milliseconds: number;
}

/** mulberry32: a small, fast, seeded PRNG. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` fork ids: alice and bob (who have forks in the mesh), then dev-003 … */
export function forkIds(count: number): string[] {
  const ids = ['alice', 'bob'];
  for (let i = ids.length + 1; ids.length < count; i++)
    ids.push(`dev-${String(i).padStart(3, '0')}`);
  return ids;
}

function checkLeaf(leaf: Hop, fork: string | null, report: LoadReport): string | undefined {
  const header = fork === null ? [] : [fork];
  const baggage = fork === null ? [] : [`x-fork-identifier=${fork}`];
  const own = new Set([...header, ...baggage]);
  const foreign = [...leaf.header, ...leaf.baggage].some((value) => !own.has(value));
  if (foreign) report.leaks++;
  if (
    leaf.header.join('\n') !== header.join('\n') ||
    leaf.baggage.join('\n') !== baggage.join('\n')
  ) {
    report.leafHeaderErrors++;
    return `leaf received header ${JSON.stringify(leaf.header)} baggage ${JSON.stringify(leaf.baggage)} for fork ${fork}`;
  }
  return undefined;
}

/** Sends `options.requests` requests and returns what was wrong with them (ideally nothing). */
export async function runChainLoad(options: LoadOptions): Promise<LoadReport> {
  const {
    url,
    requests,
    concurrency,
    forkIds: ids,
    baselineShare,
    seed,
    expectedInstance,
  } = options;
  const next = random(seed);
  const plan = Array.from({ length: requests }, () => {
    const baseline = next() < baselineShare;
    const pick = ids[Math.floor(next() * ids.length)];
    return baseline || pick === undefined ? null : pick;
  });
  const report: LoadReport = {
    requests,
    baseline: plan.filter((fork) => fork === null).length,
    failed: 0,
    mismatches: 0,
    leaks: 0,
    misrouted: 0,
    leafHeaderErrors: 0,
    served: {},
    connections: 0,
    samples: [],
    milliseconds: 0,
  };
  const note = (problem: string | undefined) => {
    if (problem !== undefined && report.samples.length < 10) report.samples.push(problem);
  };

  // A timeout makes the Agent honour the router's Keep-Alive hint and close idle sockets first
  // (see examples/fork-mesh/src/keep-alive.ts).
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, timeout: 60_000 });
  const connect = agent.createConnection.bind(agent);
  agent.createConnection = (...args: Parameters<Agent['createConnection']>) => {
    report.connections++;
    return connect(...args);
  };

  let cursor = 0;
  const worker = async () => {
    while (cursor < plan.length) {
      const index = cursor++;
      const fork = plan[index]!;
      try {
        const result = await requestChain(
          url,
          fork === null ? {} : { 'x-fork-identifier': fork },
          agent,
        );
        const services = result.hops.map((hop) => hop.service).join();
        if (result.status !== 200 || services !== SERVICES.map((s) => s.name).join()) {
          report.failed++;
          note(`request ${index}: ${result.status} ${result.body.slice(0, 200)}`);
          continue;
        }
        for (const hop of result.hops) {
          report.served[hop.instance] = (report.served[hop.instance] ?? 0) + 1;
          if (hop.fork !== fork) {
            report.mismatches++;
            if (hop.fork !== null) report.leaks++;
            note(`request ${index} (${fork}): ${hop.instance} ran in ${hop.fork}`);
          }
          const expected = expectedInstance(hop.service, fork);
          if (hop.instance !== expected) {
            report.misrouted++;
            note(
              `request ${index} (${fork}): ${hop.service} served by ${hop.instance}, not ${expected}`,
            );
          }
        }
        note(checkLeaf(result.hops.at(-1)!, fork, report));
      } catch (error) {
        report.failed++;
        note(`request ${index}: ${(error as Error).message}`);
      }
    }
  };

  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  report.milliseconds = Math.round(performance.now() - started);
  agent.destroy();
  return report;
}
