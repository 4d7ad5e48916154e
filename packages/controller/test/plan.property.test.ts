import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type HostPlan, matchRoute, planHost, type VSConfig } from '../src/index.js';
import { foreignVirtualService, fqdn, vsconfig } from './support/fixtures.js';
import { virtualServiceProblems } from './support/virtual-service.js';

const allowList = ['x-fork-identifier', 'x-team'];

// Small pools make duplicates, ties and collisions likely; the free-form arbitraries cover the rest.
const fork = fc.record({
  name: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
  header: fc.constantFrom('x-fork-identifier', 'x-team', 'x-not-allowed', undefined),
  value: fc.oneof(
    fc.constantFrom('alice', 'bob', 'Alice', 'a.b', 'v1.2.3', 'x', 'x-baggage', 'a_b'),
    fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/),
    fc.constantFrom('', 'a b', '.x', 'a,b'),
  ),
  service: fc.oneof(
    fc.constantFrom('cart', 'cart-a', 'cart-b', 'Cart-c'),
    fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/),
  ),
  created: fc.constantFrom('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z', undefined),
  port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
});

const forkSets = fc
  .uniqueArray(fork, { selector: (entry) => entry.name, maxLength: 12 })
  .map((entries) => entries.map((entry) => vsconfig(entry)));

/** A set of VSConfigs and the same set in another order. */
const shuffledForkSets = forkSets.chain((set) =>
  fc.tuple(fc.constant(set), fc.shuffledSubarray(set, { minLength: set.length })),
);

function plan(vsconfigs: VSConfig[]): HostPlan {
  return planHost({ namespace: 'shop', host: 'cart', vsconfigs, headerAllowList: allowList });
}

function accepted(result: HostPlan, vsconfigs: VSConfig[]): VSConfig[] {
  const names = new Set(result.results.filter((entry) => entry.ready).map((entry) => entry.name));
  return vsconfigs.filter((entry) => names.has(entry.metadata.name!));
}

const runs = { numRuns: 300 };

describe('planHost properties (random sets of VSConfigs for one host)', () => {
  it('routes the header of every accepted fork to its Service', () => {
    fc.assert(
      fc.property(forkSets, (vsconfigs) => {
        const result = plan(vsconfigs);
        for (const { spec } of accepted(result, vsconfigs)) {
          const headers = { [spec.headerName ?? 'x-fork-identifier']: spec.headerValue };
          expect(matchRoute(result.virtualService!, { headers })).toBe(fqdn(spec.service));
        }
      }),
      runs,
    );
  });

  it('routes a baggage header holding an accepted fork among other members to its Service', () => {
    fc.assert(
      fc.property(forkSets, fc.constantFrom('', 'userId=7,', 'a=1;p=2, '), (vsconfigs, before) => {
        const result = plan(vsconfigs);
        for (const { spec } of accepted(result, vsconfigs)) {
          const member = `${spec.headerName ?? 'x-fork-identifier'}=${spec.headerValue}`;
          const headers = { baggage: `${before}${member};ttl=60,session=abc` };
          expect(matchRoute(result.virtualService!, { headers })).toBe(fqdn(spec.service));
        }
      }),
      runs,
    );
  });

  it('routes a request without fork header to the host', () => {
    fc.assert(
      fc.property(forkSets, (vsconfigs) => {
        const { virtualService } = plan(vsconfigs);
        if (virtualService !== null) {
          expect(matchRoute(virtualService, { headers: { baggage: 'userId=7' } })).toBe(
            fqdn('cart'),
          );
          expect(matchRoute(virtualService, { headers: {} })).toBe(fqdn('cart'));
        }
      }),
      runs,
    );
  });

  it('plans a VirtualService exactly when some fork is accepted', () => {
    fc.assert(
      fc.property(forkSets, (vsconfigs) => {
        const result = plan(vsconfigs);
        expect(result.virtualService !== null).toBe(result.results.some((entry) => entry.ready));
        expect(result.results).toHaveLength(vsconfigs.length);
      }),
      runs,
    );
  });

  it('gives byte-identical YAML for the same set in any order', () => {
    fc.assert(
      fc.property(shuffledForkSets, ([vsconfigs, shuffled]) => {
        expect(stringify(plan(shuffled))).toBe(stringify(plan(vsconfigs)));
      }),
      runs,
    );
  });

  it('never lets a rejected VSConfig change the routing', () => {
    fc.assert(
      fc.property(forkSets, (vsconfigs) => {
        const result = plan(vsconfigs);
        const onlyAccepted = plan(accepted(result, vsconfigs));
        expect(onlyAccepted.virtualService).toEqual(result.virtualService);
        for (const rejected of result.results.filter((entry) => !entry.ready)) {
          const without = vsconfigs.filter((entry) => entry.metadata.name !== rejected.name);
          expect(plan(without).virtualService).toEqual(result.virtualService);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('produces only objects that pass the Istio schema and the own checks', () => {
    fc.assert(
      fc.property(forkSets, (vsconfigs) => {
        const { virtualService } = plan(vsconfigs);
        if (virtualService !== null) expect(virtualServiceProblems(virtualService)).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it('keeps the routing of an adopted VirtualService for requests of no accepted fork', () => {
    const existing = foreignVirtualService({ 'kubefork.dev/adopt': 'true' });
    const requests = fc.constantFrom<Record<string, string>>(
      {},
      { 'x-canary': 'on' },
      { 'x-fork-identifier': 'no body' },
    );
    fc.assert(
      fc.property(forkSets, requests, (vsconfigs, headers) => {
        const result = planHost({
          namespace: 'shop',
          host: 'cart',
          vsconfigs,
          existing,
          headerAllowList: allowList,
        });
        expect(matchRoute(result.virtualService!, { headers })).toBe(
          matchRoute(existing, { headers }),
        );
        for (const { spec } of accepted(result, vsconfigs)) {
          const forkHeaders = { [spec.headerName ?? 'x-fork-identifier']: spec.headerValue };
          expect(matchRoute(result.virtualService!, { headers: forkHeaders })).toBe(
            fqdn(spec.service),
          );
        }
      }),
      runs,
    );
  });
});
