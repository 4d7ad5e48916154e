// Compares what a request did with what its case expects, hop by hop.
import type { DemoCase } from './cases.js';
import type { ChainResult } from './client.js';
import { SERVICES, type ServiceName } from './topology.js';

export interface HopVerdict {
  readonly service: ServiceName;
  /** The instance that served the hop; `undefined` when the chain broke before it. */
  readonly instance: string | undefined;
  readonly expected: string;
  /** The fork the hop ran in (`null`: baseline; `undefined`: no hop). */
  readonly fork: string | null | undefined;
  readonly ok: boolean;
}

export interface CaseVerdict {
  readonly demoCase: DemoCase;
  readonly hops: readonly HopVerdict[];
  /** Everything that went wrong, one sentence each; empty when the case passed. */
  readonly problems: readonly string[];
  readonly ok: boolean;
}

/**
 * Judges one request of `demoCase`. `invalidReasons` are the reasons A's `onInvalid` was given
 * for this request (when known), checked against `demoCase.invalid`.
 */
export function judgeCase(
  demoCase: DemoCase,
  result: ChainResult,
  invalidReasons?: readonly string[],
): CaseVerdict {
  const problems: string[] = [];
  if (result.status !== 200) {
    problems.push(`A answered ${result.status}: ${result.body.slice(0, 200)}`);
  }
  const hops = SERVICES.map(({ name }, index): HopVerdict => {
    const hop = result.hops[index];
    const expected = demoCase.expect[name];
    if (hop === undefined || hop.service !== name) {
      problems.push(`no answer from service ${name}`);
      return { service: name, instance: undefined, expected, fork: undefined, ok: false };
    }
    let ok = true;
    if (hop.instance !== expected) {
      ok = false;
      problems.push(`${name} was served by ${hop.instance}, expected ${expected}`);
    }
    if (hop.fork !== demoCase.fork) {
      ok = false;
      problems.push(
        `${hop.instance} ran in fork ${hop.fork ?? 'none'}, expected ${demoCase.fork ?? 'none'}`,
      );
    }
    return { service: name, instance: hop.instance, expected, fork: hop.fork, ok };
  });
  if (result.hops.length > SERVICES.length) {
    problems.push(`${result.hops.length} hops answered, expected ${SERVICES.length}`);
  }
  if (invalidReasons !== undefined) {
    const expected = demoCase.invalid === undefined ? [] : [demoCase.invalid];
    if (invalidReasons.join() !== expected.join()) {
      problems.push(
        `A's onInvalid was told [${invalidReasons.join(', ')}], expected [${expected.join(', ')}]`,
      );
    }
  }
  return { demoCase, hops, problems, ok: problems.length === 0 };
}
