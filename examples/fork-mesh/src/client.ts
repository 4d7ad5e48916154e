// The caller of the chain: one GET of A's /chain with the headers of a test case.
import { type Agent, type OutgoingHttpHeaders, request } from 'node:http';
import type { ChainReply, Hop } from './hop.js';

export interface ChainResult {
  readonly status: number;
  /** The hops from A to the leaf; empty when A did not answer 200 with hops. */
  readonly hops: readonly Hop[];
  readonly body: string;
}

/**
 * GETs `<url>/chain` with `headers` (an array value is sent as repeated header lines) over
 * `agent` (default: Node's global agent) and reads the hops.
 */
export function requestChain(
  url: string,
  headers: OutgoingHttpHeaders = {},
  agent?: Agent,
): Promise<ChainResult> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/chain`, { headers, agent }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('error', reject);
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        let hops: readonly Hop[] = [];
        try {
          const reply = JSON.parse(body) as ChainReply;
          if (Array.isArray(reply?.hops)) hops = reply.hops;
        } catch {
          // Not JSON: hops stay empty, the status and body tell what happened.
        }
        resolve({ status, hops, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
