// What every service of the chain answers: one record per hop, its own first.
import { getForkId } from '@kubefork/context';
import type { ServiceName } from './topology.js';

/** What one hop saw of a request, as it reports it. */
export interface Hop {
  readonly service: ServiceName;
  /** The copy that served the request: `b` or a fork such as `b-alice`. */
  readonly instance: string;
  /** `getForkId()` in the handler: the fork the request ran in; `null` for baseline. */
  readonly fork: string | null;
  /** Every `x-fork-identifier` value this hop received, exactly as it arrived. */
  readonly header: readonly string[];
  /** Every `baggage` value this hop received, exactly as it arrived. */
  readonly baggage: readonly string[];
}

/** The body of every answer in the chain: the hops from the answering service to the leaf. */
export interface ChainReply {
  readonly hops: readonly Hop[];
}

let served = 0;

/** How many chain requests this process has handled (a hop record is taken for each). */
export function chainRequestsServed(): number {
  return served;
}

/** The hop record of the current request, taken inside its handler; counts the request. */
export function hopRecord(
  service: ServiceName,
  instance: string,
  received: { header: readonly string[]; baggage: readonly string[] },
): Hop {
  served += 1;
  return { service, instance, fork: getForkId() ?? null, ...received };
}

/** Every value of the headers `x-fork-identifier` and `baggage` in node:http raw headers. */
export function receivedHeaders(rawHeaders: readonly string[]): {
  header: string[];
  baggage: string[];
} {
  const header: string[] = [];
  const baggage: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (name === 'x-fork-identifier') header.push(rawHeaders[i + 1]!);
    else if (name === 'baggage') baggage.push(rawHeaders[i + 1]!);
  }
  return { header, baggage };
}

/** Reads a downstream answer; throws an Error that says which hop failed and how. */
export function parseChainReply(from: string, status: number, body: string): ChainReply {
  if (status !== 200) throw new Error(`${from} answered ${status}: ${body.slice(0, 200)}`);
  const reply = JSON.parse(body) as ChainReply;
  if (!Array.isArray(reply?.hops)) throw new Error(`${from} answered without hops`);
  return reply;
}
