import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  baggageMemberRegex,
  type HostPlan,
  matchRoute,
  type PlanHostInput,
  planHost,
  type VirtualService,
  type VSConfig,
} from '../src/index.js';
import { baggageExcludeRegex, headerValueRegex, longestRouteRegex } from '../src/routes.js';
import { foreignVirtualService, fqdn, vsconfig } from './support/fixtures.js';
import { virtualServiceProblems } from './support/virtual-service.js';

function plan(vsconfigs: VSConfig[], extra: Partial<PlanHostInput> = {}): HostPlan {
  return planHost({ namespace: 'shop', host: 'cart', vsconfigs, ...extra });
}

function routeNames(result: HostPlan): (string | undefined)[] {
  return result.virtualService?.spec.http?.map((route) => route.name) ?? [];
}

function resultOf(result: HostPlan, name: string) {
  return result.results.find((entry) => entry.name === name);
}

describe('planHost: the managed VirtualService', () => {
  it('names the VirtualService after the host, in the host namespace, with kubefork labels', () => {
    const { virtualService } = plan([vsconfig({ name: 'cart-alice' })]);
    expect(virtualService?.apiVersion).toBe('networking.istio.io/v1beta1');
    expect(virtualService?.kind).toBe('VirtualService');
    expect(virtualService?.metadata).toEqual({
      name: 'cart',
      namespace: 'shop',
      labels: { 'app.kubernetes.io/managed-by': 'kubefork', 'kubefork.dev/host': 'cart' },
    });
  });

  it('routes the fully qualified host name', () => {
    const { virtualService } = plan([vsconfig({ name: 'cart-alice' })]);
    expect(virtualService?.spec.hosts).toEqual([fqdn('cart')]);
  });

  it('sends the header of a fork to its fully qualified Service', () => {
    const { virtualService } = plan([vsconfig({ name: 'cart-alice' })]);
    expect(virtualService?.spec.http?.[0]).toEqual({
      name: 'kubefork-alice',
      match: [{ headers: { 'x-fork-identifier': { regex: headerValueRegex('alice') } } }],
      route: [{ destination: { host: fqdn('cart-alice') } }],
    });
    const to = (value: string) =>
      matchRoute(virtualService!, { headers: { 'x-fork-identifier': value } });
    expect(to('alice')).toBe(fqdn('cart-alice'));
    expect(to('alice, alice')).toBe(fqdn('cart-alice'));
    expect(to('alicex')).toBe(fqdn('cart'));
    expect(to('alice,bob')).toBe(fqdn('cart'));
  });

  it('adds a baggage route per fork whose regex finds exactly that member', () => {
    const { virtualService } = plan([vsconfig({ name: 'cart-alice' })]);
    const route = virtualService?.spec.http?.[1];
    expect(route?.name).toBe('kubefork-alice-baggage');
    expect(route?.match).toEqual([
      {
        headers: { baggage: { regex: baggageMemberRegex('x-fork-identifier', 'alice') } },
        withoutHeaders: {
          'x-fork-identifier': {},
          baggage: { regex: baggageExcludeRegex('x-fork-identifier') },
        },
      },
    ]);
    expect(route?.route).toEqual([{ destination: { host: fqdn('cart-alice') } }]);
  });

  it('ends with the default route to the host itself', () => {
    const { virtualService } = plan([vsconfig({ name: 'cart-alice' })]);
    expect(virtualService?.spec.http?.at(-1)).toEqual({
      name: 'default',
      route: [{ destination: { host: fqdn('cart') } }],
    });
  });

  it('puts every header route before every baggage route, forks ordered by header and value', () => {
    const result = plan(
      [
        vsconfig({ name: 'c', value: 'carol' }),
        vsconfig({ name: 'a', value: 'alice' }),
        vsconfig({ name: 'z', value: 'bob', header: 'x-a-team' }),
      ],
      { headerAllowList: ['x-fork-identifier', 'x-a-team'] },
    );
    expect(routeNames(result)).toEqual([
      'kubefork-bob',
      'kubefork-alice',
      'kubefork-carol',
      'kubefork-bob-baggage',
      'kubefork-alice-baggage',
      'kubefork-carol-baggage',
      'default',
    ]);
  });

  it('sends to the given port of the fork Service', () => {
    const { virtualService } = plan([vsconfig({ name: 'cart-alice', port: 8080 })]);
    expect(virtualService?.spec.http?.[0]?.route).toEqual([
      { destination: { host: fqdn('cart-alice'), port: { number: 8080 } } },
    ]);
  });

  it('uses the cluster domain it is given for every host', () => {
    const { virtualService } = plan([vsconfig({ name: 'cart-alice' })], {
      clusterDomain: 'corp.example',
    });
    expect(virtualService?.spec.hosts).toEqual(['cart.shop.svc.corp.example']);
    expect(matchRoute(virtualService!, { headers: { 'x-fork-identifier': 'alice' } })).toBe(
      'cart-alice.shop.svc.corp.example',
    );
  });

  it('escapes a dot in the value so the baggage regex matches only that value', () => {
    const { virtualService } = plan([
      vsconfig({ name: 'cart-v1', value: 'v1.2', service: 'cart-v1' }),
    ]);
    expect(matchRoute(virtualService!, { headers: { baggage: 'x-fork-identifier=v1.2' } })).toBe(
      fqdn('cart-v1'),
    );
    expect(matchRoute(virtualService!, { headers: { baggage: 'x-fork-identifier=v1x2' } })).toBe(
      fqdn('cart'),
    );
  });

  it('accepts a fork and says which VirtualService routes it', () => {
    expect(plan([vsconfig({ name: 'cart-alice' })]).results).toEqual([
      {
        name: 'cart-alice',
        ready: true,
        reason: 'Accepted',
        message:
          'Requests with x-fork-identifier: alice are routed to "cart-alice" by VirtualService shop/cart.',
      },
    ]);
  });

  it('produces objects that pass the Istio schema and the own checks', () => {
    const { virtualService } = plan([
      vsconfig({ name: 'a', value: 'alice', port: 80 }),
      vsconfig({ name: 'b', value: 'B.o_b-1' }),
    ]);
    expect(virtualServiceProblems(virtualService!)).toEqual([]);
  });
});

describe('planHost: rejected VSConfigs', () => {
  it('refuses a header name and fork id too long together for Istio, and routes the rest', () => {
    // Istio refuses a regex over 1,024 characters and with it the whole VirtualService, so one
    // such VSConfig must not take the other forks of the host down with it.
    const header = `x-${'h'.repeat(250)}`;
    const id = `a${'.'.repeat(62)}`;
    const result = planHost({
      namespace: 'shop',
      host: 'cart',
      headerAllowList: ['x-fork-identifier', header],
      vsconfigs: [
        vsconfig({ name: 'long', header, value: id, service: 'cart-long' }),
        vsconfig({ name: 'short', header, value: 'bob', service: 'cart-bob' }),
        vsconfig({ name: 'alice', value: id, service: 'cart-alice' }),
      ],
    });
    expect(resultOf(result, 'long')).toMatchObject({ ready: false, reason: 'RegexTooLong' });
    expect(resultOf(result, 'long')?.message).toMatch(
      /would need a regex of 1[0-9]{3} characters, and Istio refuses a VirtualService with one over 1024/,
    );
    expect(longestRouteRegex({ headerName: header, headerValue: id })).toBeGreaterThan(1024);
    expect(resultOf(result, 'short')?.reason).toBe('Accepted');
    expect(resultOf(result, 'alice')?.reason).toBe('Accepted');
    expect(virtualServiceProblems(result.virtualService!)).toEqual([]);
    expect(matchRoute(result.virtualService!, { headers: { baggage: `${header}=bob` } })).toBe(
      fqdn('cart-bob'),
    );
    expect(matchRoute(result.virtualService!, { headers: { baggage: `${header}=${id}` } })).toBe(
      fqdn('cart'),
    );
  });

  it('lets the oldest of two forks with the same header and value win', () => {
    const result = plan([
      vsconfig({ name: 'new', service: 'cart-new', created: '2024-02-01T00:00:00Z' }),
      vsconfig({ name: 'old', service: 'cart-old', created: '2024-01-01T00:00:00Z' }),
    ]);
    expect(matchRoute(result.virtualService!, { headers: { 'x-fork-identifier': 'alice' } })).toBe(
      fqdn('cart-old'),
    );
    expect(resultOf(result, 'old')).toMatchObject({ ready: true, reason: 'Accepted' });
    expect(resultOf(result, 'new')).toEqual({
      name: 'new',
      ready: false,
      reason: 'DuplicateHeaderValue',
      message:
        'x-fork-identifier: alice is already routed to "cart-old" by the older VSConfig "old"; delete or change one of them.',
    });
  });

  it('breaks a tie of creation times by name', () => {
    const created = '2024-01-01T00:00:00Z';
    const result = plan([
      vsconfig({ name: 'b', service: 'cart-b', created }),
      vsconfig({ name: 'a', service: 'cart-a', created }),
    ]);
    expect(resultOf(result, 'a')?.reason).toBe('Accepted');
    expect(resultOf(result, 'b')?.reason).toBe('DuplicateHeaderValue');
  });

  it('counts a VSConfig without creation time as the newest', () => {
    const result = plan([
      vsconfig({ name: 'a', service: 'cart-a' }),
      vsconfig({ name: 'b', service: 'cart-b', created: '2024-01-01T00:00:00Z' }),
    ]);
    expect(resultOf(result, 'b')?.reason).toBe('Accepted');
    expect(resultOf(result, 'a')?.reason).toBe('DuplicateHeaderValue');
  });

  it('emits the winning value once, so the loser cannot shadow it', () => {
    const result = plan([
      vsconfig({ name: 'old', service: 'cart-old', created: '2024-01-01T00:00:00Z' }),
      vsconfig({ name: 'new', service: 'cart-new', created: '2024-02-01T00:00:00Z' }),
    ]);
    expect(routeNames(result)).toEqual(['kubefork-alice', 'kubefork-alice-baggage', 'default']);
  });

  it('treats the same value under two allowed header names as two forks', () => {
    const result = plan(
      [
        vsconfig({ name: 'a', service: 'cart-a' }),
        vsconfig({ name: 'b', service: 'cart-b', header: 'x-team-fork' }),
      ],
      { headerAllowList: ['x-fork-identifier', 'x-team-fork'] },
    );
    expect(result.results.map((entry) => entry.reason)).toEqual(['Accepted', 'Accepted']);
    expect(matchRoute(result.virtualService!, { headers: { 'x-team-fork': 'alice' } })).toBe(
      fqdn('cart-b'),
    );
  });

  it('rejects a header name that is not on the default allow-list', () => {
    const result = plan([vsconfig({ name: 'a', header: 'x-other' })]);
    expect(result.virtualService).toBeNull();
    expect(result.results).toEqual([
      {
        name: 'a',
        ready: false,
        reason: 'HeaderNotAllowed',
        message:
          'spec.headerName "x-other" is not on the controller\'s header allow-list (x-fork-identifier).',
      },
    ]);
  });

  it('compares the allow-list without regard to case', () => {
    const result = plan([vsconfig({ name: 'a', header: 'x-other' })], {
      headerAllowList: ['X-Other'],
    });
    expect(result.results[0]?.reason).toBe('Accepted');
  });

  it('rejects even the default header when the allow-list leaves it out', () => {
    const result = plan([vsconfig({ name: 'a' })], { headerAllowList: ['x-other'] });
    expect(result.results[0]?.reason).toBe('HeaderNotAllowed');
  });

  it('rejects a fork whose service is its host as Invalid', () => {
    const result = plan([vsconfig({ name: 'loop', service: 'cart' })]);
    expect(result.virtualService).toBeNull();
    expect(result.results).toEqual([
      {
        name: 'loop',
        ready: false,
        reason: 'Invalid',
        message:
          'spec.service must differ from spec.host (a fork routes to its own Service); both are "cart".',
      },
    ]);
  });

  it.each<[string, VSConfig, RegExp]>([
    [
      'a header value the SDK would drop',
      vsconfig({ name: 'x', value: 'al ice' }),
      /spec.headerValue/,
    ],
    ['an upper-case service', vsconfig({ name: 'x', service: 'Cart-A' }), /spec.service/],
    ['a port out of range', vsconfig({ name: 'x', port: 70000 }), /spec.port/],
    ['a header name ending in -bin', vsconfig({ name: 'x', header: 'x-id-bin' }), /-bin/],
    [
      'a missing spec',
      { ...vsconfig({ name: 'x' }), spec: undefined } as unknown as VSConfig,
      /spec must be an object/,
    ],
  ])('rejects %s as Invalid and names the field', (_label, input, message) => {
    const result = plan([input]);
    expect(result.results[0]).toMatchObject({ name: 'x', ready: false, reason: 'Invalid' });
    expect(result.results[0]?.message).toMatch(message);
  });

  it('reports every problem of one VSConfig in one message', () => {
    const result = plan([vsconfig({ name: 'x', value: '', port: 0 })]);
    expect(result.results[0]?.message).toMatch(/spec\.headerValue.*; spec\.port/);
  });

  it('reports a VSConfig without a name as Invalid under the empty name', () => {
    const nameless = { ...vsconfig({ name: 'x' }), metadata: { namespace: 'shop' } } as VSConfig;
    expect(plan([nameless]).results).toEqual([
      expect.objectContaining({ name: '', reason: 'Invalid', ready: false }),
    ]);
  });

  it('survives input that is not an object at all', () => {
    const result = plan([null, 'cart', 42] as unknown as VSConfig[]);
    expect(result.virtualService).toBeNull();
    expect(result.results.map((entry) => entry.reason)).toEqual(['Invalid', 'Invalid', 'Invalid']);
  });

  it('does not let an invalid older VSConfig block a valid one with the same value', () => {
    const result = plan([
      vsconfig({ name: 'old', service: 'cart', created: '2023-01-01T00:00:00Z' }),
      vsconfig({ name: 'new', service: 'cart-new', created: '2024-01-01T00:00:00Z' }),
    ]);
    expect(resultOf(result, 'new')?.reason).toBe('Accepted');
  });

  it('plans no VirtualService when no fork is accepted', () => {
    expect(plan([]).virtualService).toBeNull();
    expect(plan([]).results).toEqual([]);
  });

  it('returns one result per VSConfig, sorted by name', () => {
    const result = plan([
      vsconfig({ name: 'c', value: 'carol' }),
      vsconfig({ name: 'a', value: 'x y' }),
      vsconfig({ name: 'b', header: 'x-no' }),
    ]);
    expect(result.results.map((entry) => [entry.name, entry.reason])).toEqual([
      ['a', 'Invalid'],
      ['b', 'HeaderNotAllowed'],
      ['c', 'Accepted'],
    ]);
  });
});

describe('planHost: an existing VirtualService', () => {
  it('replaces a hand-edited managed VirtualService with the plan', () => {
    const forks = [vsconfig({ name: 'cart-alice' })];
    const clean = plan(forks);
    const edited = structuredClone(clean.virtualService!) as VirtualService;
    edited.spec.http = [{ name: 'hack', route: [{ destination: { host: 'evil' } }] }];
    edited.metadata.resourceVersion = '99';
    expect(plan(forks, { existing: edited })).toEqual(clean);
  });

  it('leaves a foreign VirtualService alone and reports every fork', () => {
    const result = plan(
      [
        vsconfig({ name: 'a' }),
        vsconfig({ name: 'b', value: 'bob' }),
        vsconfig({ name: 'c', value: '' }),
      ],
      { existing: foreignVirtualService() },
    );
    expect(result.virtualService).toBeNull();
    expect(result.results.map((entry) => [entry.name, entry.reason, entry.ready])).toEqual([
      ['a', 'HostClaimedByForeignVirtualService', false],
      ['b', 'HostClaimedByForeignVirtualService', false],
      ['c', 'Invalid', false],
    ]);
    expect(result.results[0]?.message).toBe(
      'VirtualService shop/cart-routing already routes host "cart" and is not managed by kubefork; annotate it kubefork.dev/adopt: "true" to let kubefork put fork routes before its routes.',
    );
  });

  it('does not adopt on an annotation other than "true"', () => {
    const existing = foreignVirtualService({ 'kubefork.dev/adopt': 'yes' });
    expect(plan([vsconfig({ name: 'a' })], { existing }).virtualService).toBeNull();
  });

  it('puts fork routes before the routes of an adopted VirtualService and keeps them unchanged', () => {
    const existing = foreignVirtualService({ 'kubefork.dev/adopt': 'true' });
    const result = plan([vsconfig({ name: 'a' })], { existing });
    expect(routeNames(result)).toEqual([
      'kubefork-alice',
      'kubefork-alice-baggage',
      'canary',
      'primary',
    ]);
    expect(result.virtualService?.spec.http?.slice(2)).toEqual(existing.spec.http);
    expect(result.results[0]).toMatchObject({ ready: true, reason: 'Accepted' });
    expect(result.results[0]?.message).toContain('VirtualService shop/cart-routing');
  });

  it('keeps the other fields of an adopted VirtualService and drops what the server owns', () => {
    const existing = foreignVirtualService({ 'kubefork.dev/adopt': 'true' });
    const { virtualService } = plan([vsconfig({ name: 'a' })], { existing });
    expect(virtualService?.apiVersion).toBe(existing.apiVersion);
    expect(virtualService?.metadata).toEqual({
      name: 'cart-routing',
      namespace: 'shop',
      labels: { team: 'checkout' },
      annotations: { 'kubefork.dev/adopt': 'true' },
    });
    expect(virtualService?.spec.hosts).toEqual(['cart']);
    expect(virtualService?.spec.exportTo).toEqual(['.']);
    expect(virtualService?.spec.tcp).toEqual(existing.spec.tcp);
    expect(virtualService).not.toHaveProperty('status');
  });

  it('replaces the fork routes it added earlier instead of adding them again', () => {
    const existing = foreignVirtualService({ 'kubefork.dev/adopt': 'true' });
    const first = plan([vsconfig({ name: 'a' })], { existing });
    const again = plan([vsconfig({ name: 'b', value: 'bob' })], {
      existing: first.virtualService!,
    });
    expect(routeNames(again)).toEqual([
      'kubefork-bob',
      'kubefork-bob-baggage',
      'canary',
      'primary',
    ]);
  });

  it('is stable when planned again on its own output', () => {
    const existing = foreignVirtualService({ 'kubefork.dev/adopt': 'true' });
    const forks = [vsconfig({ name: 'a' }), vsconfig({ name: 'b', value: 'bob' })];
    const first = plan(forks, { existing });
    expect(plan(forks, { existing: first.virtualService! })).toEqual(first);
  });

  it('restores an adopted VirtualService without fork routes when the last fork goes', () => {
    const existing = foreignVirtualService({ 'kubefork.dev/adopt': 'true' });
    const withFork = plan([vsconfig({ name: 'a' })], { existing });
    const result = plan([], { existing: withFork.virtualService! });
    // Not null: null would ask the controller to delete an object that is not kubefork's.
    expect(result.virtualService?.spec.http).toEqual(existing.spec.http);
  });

  it('refuses to adopt a VirtualService that also routes other hosts', () => {
    const existing = foreignVirtualService({ 'kubefork.dev/adopt': 'true' });
    existing.spec.hosts = ['cart', 'pay'];
    const result = plan([vsconfig({ name: 'a' })], { existing });
    expect(result.virtualService).toBeNull();
    expect(result.results[0]).toMatchObject({
      ready: false,
      reason: 'HostClaimedByForeignVirtualService',
    });
    expect(result.results[0]?.message).toContain('routes other hosts too (cart, pay)');
  });

  it('adopts a VirtualService that names its host in several spellings', () => {
    const existing = foreignVirtualService({ 'kubefork.dev/adopt': 'true' });
    existing.spec.hosts = ['cart', 'cart.shop', 'cart.shop.svc', fqdn('cart')];
    expect(plan([vsconfig({ name: 'a' })], { existing }).results[0]?.reason).toBe('Accepted');
  });

  it('adds the default route to an adopted VirtualService that has no HTTP routes', () => {
    const existing = foreignVirtualService({ 'kubefork.dev/adopt': 'true' });
    delete existing.spec.http;
    const { virtualService } = plan([vsconfig({ name: 'a' })], { existing });
    expect(routeNames({ virtualService, results: [] })).toEqual([
      'kubefork-alice',
      'kubefork-alice-baggage',
      'kubefork-default',
    ]);
    expect(matchRoute(virtualService!, { headers: {} })).toBe(fqdn('cart'));
  });

  it('removes that default route again with the last fork', () => {
    const existing = foreignVirtualService({ 'kubefork.dev/adopt': 'true' });
    delete existing.spec.http;
    const withFork = plan([vsconfig({ name: 'a' })], { existing });
    const withoutFork = plan([], { existing: withFork.virtualService! });
    expect(withoutFork.virtualService?.spec).toStrictEqual(existing.spec);
  });

  it('routes non-fork requests of an adopted VirtualService as before', () => {
    const existing = foreignVirtualService({ 'kubefork.dev/adopt': 'true' });
    const { virtualService } = plan([vsconfig({ name: 'a' })], { existing });
    const requests: Record<string, string>[] = [
      {},
      { 'x-canary': 'on' },
      { 'x-fork-identifier': 'bob' },
    ];
    for (const headers of requests) {
      expect(matchRoute(virtualService!, { headers })).toBe(matchRoute(existing, { headers }));
    }
    expect(matchRoute(virtualService!, { headers: { 'x-fork-identifier': 'alice' } })).toBe(
      fqdn('cart-alice'),
    );
  });

  it('produces an adopted object that passes the Istio schema and the own checks', () => {
    const existing = foreignVirtualService({ 'kubefork.dev/adopt': 'true' });
    const { virtualService } = plan([vsconfig({ name: 'a', port: 8080 })], { existing });
    expect(virtualServiceProblems(virtualService!)).toEqual([]);
  });
});

describe('planHost: determinism', () => {
  const forks = [
    vsconfig({ name: 'd', value: 'dave', created: '2024-03-01T00:00:00Z' }),
    vsconfig({ name: 'a', value: 'alice', created: '2024-01-01T00:00:00Z' }),
    vsconfig({ name: 'a2', value: 'alice', service: 'cart-a2', created: '2024-01-01T00:00:00Z' }),
    vsconfig({ name: 'x', value: 'bad value' }),
    vsconfig({ name: 'b', value: 'bob', port: 9000 }),
  ];

  it('gives byte-identical YAML for the same VSConfigs in reverse order', () => {
    const forward = plan(forks);
    const backward = plan([...forks].reverse());
    expect(stringify(backward)).toBe(stringify(forward));
  });

  it('does not modify the VSConfigs or the existing VirtualService it is given', () => {
    const existing = foreignVirtualService({ 'kubefork.dev/adopt': 'true' });
    const before = structuredClone({ forks, existing });
    plan(forks, { existing });
    expect({ forks, existing }).toEqual(before);
  });
});

describe('planHost: mistakes of the caller', () => {
  it.each<[string, Partial<PlanHostInput>, RegExp]>([
    ['an invalid namespace', { namespace: 'Shop' }, /option "namespace" must be a namespace name/],
    [
      'vsconfigs that are not an array',
      { vsconfigs: {} as VSConfig[] },
      /option "vsconfigs" must be an array/,
    ],
    [
      'an allow-list entry that is no header name',
      { headerAllowList: ['x fork'] },
      /headerAllowList/,
    ],
    [
      'an allow-list that is a string',
      { headerAllowList: 'x-a' as unknown as string[] },
      /headerAllowList/,
    ],
    ['an invalid cluster domain', { clusterDomain: '.local' }, /clusterDomain/],
    [
      'a VSConfig of another host',
      { vsconfigs: [vsconfig({ name: 'a', host: 'pay', service: 'pay-a' })] },
      /for host "pay"/,
    ],
    [
      'a VSConfig of another namespace',
      { vsconfigs: [vsconfig({ name: 'a', namespace: 'other' })] },
      /other\/a/,
    ],
    [
      'two VSConfigs of the same name',
      { vsconfigs: [vsconfig({ name: 'a' }), vsconfig({ name: 'a', value: 'bob' })] },
      /distinct names/,
    ],
    [
      'an existing VirtualService of another namespace',
      { existing: { ...foreignVirtualService(), metadata: { name: 'x', namespace: 'other' } } },
      /existing.metadata.namespace/,
    ],
  ])('throws a TypeError for %s', (_label, input, message) => {
    const call = () => planHost({ namespace: 'shop', host: 'cart', vsconfigs: [], ...input });
    expect(call).toThrow(TypeError);
    expect(call).toThrow(message);
  });

  it('gives its TypeError the stable code of the SDK', () => {
    try {
      planHost({ namespace: '', host: 'cart', vsconfigs: [] });
      expect.unreachable();
    } catch (error) {
      expect((error as { code?: string }).code).toBe('ERR_KUBEFORK_INVALID_OPTION');
    }
  });
});
