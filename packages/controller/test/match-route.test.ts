import { describe, expect, it } from 'vitest';
import {
  baggageMemberRegex,
  type HTTPRoute,
  matchRoute,
  type VirtualService,
} from '../src/index.js';

function virtualService(http: HTTPRoute[]): VirtualService {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'VirtualService',
    metadata: { name: 'cart', namespace: 'shop' },
    spec: { hosts: ['cart'], http },
  };
}

function to(host: string, headers?: HTTPRoute['match']): HTTPRoute {
  return headers === undefined
    ? { route: [{ destination: { host } }] }
    : { match: headers, route: [{ destination: { host } }] };
}

describe('matchRoute', () => {
  it('takes the first route whose match holds', () => {
    const vs = virtualService([
      to('first', [{ headers: { a: { exact: '1' } } }]),
      to('second', [{ headers: { a: { exact: '1' } } }]),
    ]);
    expect(matchRoute(vs, { headers: { a: '1' } })).toBe('first');
  });

  it('takes a route without match for any request', () => {
    const vs = virtualService([to('x', [{ headers: { a: { exact: '1' } } }]), to('default')]);
    expect(matchRoute(vs, { headers: {} })).toBe('default');
  });

  it('returns undefined when no route matches', () => {
    const vs = virtualService([to('x', [{ headers: { a: { exact: '1' } } }])]);
    expect(matchRoute(vs, { headers: { a: '2' } })).toBeUndefined();
  });

  it('compares exact values case-sensitively', () => {
    const vs = virtualService([to('x', [{ headers: { a: { exact: 'Alice' } } }]), to('d')]);
    expect(matchRoute(vs, { headers: { a: 'alice' } })).toBe('d');
    expect(matchRoute(vs, { headers: { a: 'Alice' } })).toBe('x');
  });

  it('matches a prefix', () => {
    const vs = virtualService([to('x', [{ headers: { a: { prefix: 'al' } } }]), to('d')]);
    expect(matchRoute(vs, { headers: { a: 'alice' } })).toBe('x');
    expect(matchRoute(vs, { headers: { a: 'bob' } })).toBe('d');
  });

  it('matches a regex only against the whole value', () => {
    const vs = virtualService([to('x', [{ headers: { a: { regex: 'ali' } } }]), to('d')]);
    expect(matchRoute(vs, { headers: { a: 'alice' } })).toBe('d');
    expect(matchRoute(vs, { headers: { a: 'ali' } })).toBe('x');
  });

  it('reads regexes with RE2 syntax, not ECMAScript syntax', () => {
    // \Q…\E quotes a literal in RE2; ECMAScript has no such thing.
    const vs = virtualService([to('x', [{ headers: { a: { regex: '\\Qa.b\\E' } } }]), to('d')]);
    expect(matchRoute(vs, { headers: { a: 'a.b' } })).toBe('x');
    expect(matchRoute(vs, { headers: { a: 'axb' } })).toBe('d');
  });

  it('treats a regex RE2 cannot compile as never matching', () => {
    const vs = virtualService([to('x', [{ headers: { a: { regex: '(?=a)a' } } }]), to('d')]);
    expect(matchRoute(vs, { headers: { a: 'a' } })).toBe('d');
  });

  it('checks only the presence of a header for an empty match', () => {
    const vs = virtualService([to('x', [{ headers: { a: {} } }]), to('d')]);
    expect(matchRoute(vs, { headers: { a: '' } })).toBe('x');
    expect(matchRoute(vs, { headers: {} })).toBe('d');
  });

  it('compares header names without regard to case', () => {
    const vs = virtualService([to('x', [{ headers: { 'X-Fork': { exact: 'a' } } }]), to('d')]);
    expect(matchRoute(vs, { headers: { 'x-FORK': 'a' } })).toBe('x');
  });

  it('requires every header of one match entry', () => {
    const vs = virtualService([
      to('x', [{ headers: { a: { exact: '1' }, b: { exact: '2' } } }]),
      to('d'),
    ]);
    expect(matchRoute(vs, { headers: { a: '1' } })).toBe('d');
    expect(matchRoute(vs, { headers: { a: '1', b: '2' } })).toBe('x');
  });

  it('takes a route when any one of its match entries holds', () => {
    const vs = virtualService([
      to('x', [{ headers: { a: { exact: '1' } } }, { headers: { b: { exact: '2' } } }]),
      to('d'),
    ]);
    expect(matchRoute(vs, { headers: { b: '2' } })).toBe('x');
  });

  it('honours withoutHeaders', () => {
    const vs = virtualService([to('x', [{ withoutHeaders: { a: { exact: '1' } } }]), to('d')]);
    expect(matchRoute(vs, { headers: { a: '1' } })).toBe('d');
    expect(matchRoute(vs, { headers: { a: '2' } })).toBe('x');
    expect(matchRoute(vs, { headers: {} })).toBe('x');
  });

  it('takes a condition on anything but headers not to hold', () => {
    const vs = virtualService([
      to('x', [{ uri: { prefix: '/' }, headers: { a: { exact: '1' } } }]),
      to('d'),
    ]);
    expect(matchRoute(vs, { headers: { a: '1' } })).toBe('d');
  });

  it('ignores the labels of a match entry', () => {
    const vs = virtualService([to('x', [{ name: 'fork', headers: { a: { exact: '1' } } }])]);
    expect(matchRoute(vs, { headers: { a: '1' } })).toBe('x');
  });

  it('returns undefined when the route taken has no destination (a redirect)', () => {
    const vs = virtualService([{ redirect: { uri: '/elsewhere' } }, to('d')]);
    expect(matchRoute(vs, { headers: {} })).toBeUndefined();
  });

  it('picks the heaviest of weighted destinations', () => {
    const vs = virtualService([
      {
        route: [
          { destination: { host: 'light' }, weight: 10 },
          { destination: { host: 'heavy' }, weight: 90 },
        ],
      },
    ]);
    expect(matchRoute(vs, { headers: {} })).toBe('heavy');
  });

  it('returns undefined for a VirtualService without HTTP routes', () => {
    const vs = virtualService([]);
    delete vs.spec.http;
    expect(matchRoute(vs, { headers: {} })).toBeUndefined();
  });
});

describe('the baggage member regex', () => {
  const vs = virtualService([
    to('alice', [
      { headers: { baggage: { regex: baggageMemberRegex('x-fork-identifier', 'alice') } } },
    ]),
    to('host'),
  ]);
  const route = (baggage: string) => matchRoute(vs, { headers: { baggage } });

  it.each([
    'x-fork-identifier=alice',
    'x-fork-identifier=alice;ttl=60',
    'userId=1,x-fork-identifier=alice',
    'userId=1, x-fork-identifier=alice, session=abc',
    'userId=1,x-fork-identifier = alice ;p=1,z=2',
    'a=1;x-fork-identifier=bob,x-fork-identifier=alice',
  ])('finds the member in %j', (baggage) => {
    expect(route(baggage)).toBe('alice');
  });

  it.each([
    'x-fork-identifier=alice2',
    'x-fork-identifier=xalice',
    'xx-fork-identifier=alice',
    'my-x-fork-identifier=alice',
    'userId=1;x-fork-identifier=alice',
    'x-fork-identifier=bob',
    'x-fork-identifier=ALICE',
    '',
  ])('does not find it in %j', (baggage) => {
    expect(route(baggage)).toBe('host');
  });

  it('escapes every RE2 metacharacter of the key and the value', () => {
    const plus = virtualService([
      to('v', [{ headers: { baggage: { regex: baggageMemberRegex('a.b', 'c+d') } } }]),
      to('host'),
    ]);
    expect(matchRoute(plus, { headers: { baggage: 'a.b=c+d' } })).toBe('v');
    expect(matchRoute(plus, { headers: { baggage: 'a.b=c%2bd' } })).toBe('v');
    expect(matchRoute(plus, { headers: { baggage: 'axb=c+d' } })).toBe('host');
    expect(matchRoute(plus, { headers: { baggage: 'a.b=ccd' } })).toBe('host');
    const dotted = virtualService([
      to('v', [{ headers: { baggage: { regex: baggageMemberRegex('k', 'v1.2') } } }]),
      to('host'),
    ]);
    expect(matchRoute(dotted, { headers: { baggage: 'k=v1.2' } })).toBe('v');
    expect(matchRoute(dotted, { headers: { baggage: 'k=v1x2' } })).toBe('host');
  });

  it('uses neither lookaround nor backreferences, which RE2 lacks', () => {
    expect(baggageMemberRegex('x-fork-identifier', 'alice')).not.toMatch(/\(\?[=!<]|\\[1-9]/);
  });
});
