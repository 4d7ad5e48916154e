import { afterEach, describe, expect, it } from 'vitest';
import { configure, forkHeaders, runWithForkId } from '../src/index.js';
import { type HeaderAccess, injectForkHeaders } from '../src/integration.js';

afterEach(() => configure());

const mapAccess: HeaderAccess<Map<string, string>> = {
  get: (carrier, name) => carrier.get(name),
  set: (carrier, name, value) => void carrier.set(name, value),
};

describe('forkHeaders', () => {
  it('is empty outside a fork', () => {
    expect(forkHeaders('http://orders/')).toEqual({});
  });

  it('gives the header and our baggage member inside a fork', () => {
    expect(runWithForkId('alice', () => forkHeaders('http://orders/'))).toEqual({
      'x-fork-identifier': 'alice',
      baggage: 'x-fork-identifier=alice',
    });
  });

  it('leaves baggage out when baggageKey is null', () => {
    configure({ baggageKey: null, header: 'X-Sandbox' });
    expect(runWithForkId('alice', () => forkHeaders())).toEqual({ 'x-sandbox': 'alice' });
  });

  it('consults propagateTo with the target URL', () => {
    const asked: string[] = [];
    configure({
      propagateTo: (url) => {
        asked.push(url.href);
        return url.hostname.endsWith('.svc.cluster.local');
      },
    });
    runWithForkId('alice', () => {
      expect(forkHeaders('http://orders.shop.svc.cluster.local/x')).toHaveProperty(
        'x-fork-identifier',
        'alice',
      );
      expect(forkHeaders(new URL('https://api.stripe.com/v1'))).toEqual({});
    });
    expect(asked).toEqual(['http://orders.shop.svc.cluster.local/x', 'https://api.stripe.com/v1']);
  });

  it('fails closed when propagateTo throws or the target is not a URL', () => {
    configure({
      propagateTo: () => {
        throw new Error('policy bug');
      },
    });
    expect(runWithForkId('alice', () => forkHeaders('http://orders/'))).toEqual({});
    configure({ propagateTo: () => true });
    expect(runWithForkId('alice', () => forkHeaders('not a url'))).toEqual({});
  });

  it('does not consult propagateTo without a target', () => {
    configure({ propagateTo: () => false });
    expect(runWithForkId('alice', () => forkHeaders())).toHaveProperty(
      'x-fork-identifier',
      'alice',
    );
  });
});

describe('injectForkHeaders', () => {
  it('adds the header and baggage to an empty request', () => {
    const headers = new Map<string, string>();
    expect(runWithForkId('alice', () => injectForkHeaders(headers, mapAccess, 'http://b/'))).toBe(
      true,
    );
    expect(Object.fromEntries(headers)).toEqual({
      'x-fork-identifier': 'alice',
      baggage: 'x-fork-identifier=alice',
    });
  });

  it('does nothing outside a fork or for a rejected destination', () => {
    const headers = new Map<string, string>([['baggage', 'a=1']]);
    expect(injectForkHeaders(headers, mapAccess, 'http://b/')).toBe(false);
    configure({ propagateTo: (url) => url.hostname !== 'api.example.com' });
    expect(
      runWithForkId('alice', () =>
        injectForkHeaders(headers, mapAccess, 'https://api.example.com/'),
      ),
    ).toBe(false);
    expect(Object.fromEntries(headers)).toEqual({ baggage: 'a=1' });
  });

  it('keeps a header the caller set and makes baggage agree with it', () => {
    const headers = new Map([
      ['x-fork-identifier', 'bob'],
      ['baggage', 'a=1,x-fork-identifier=alice'],
    ]);
    runWithForkId('alice', () => injectForkHeaders(headers, mapAccess));
    expect(Object.fromEntries(headers)).toEqual({
      'x-fork-identifier': 'bob',
      baggage: 'x-fork-identifier=bob,a=1',
    });
  });

  it('leaves baggage alone when the caller set an invalid header value', () => {
    const headers = new Map([
      ['x-fork-identifier', 'a, b'],
      ['baggage', 'k=v'],
    ]);
    runWithForkId('alice', () => injectForkHeaders(headers, mapAccess));
    expect(Object.fromEntries(headers)).toEqual({ 'x-fork-identifier': 'a, b', baggage: 'k=v' });
  });

  it('merges into existing baggage without duplicating our member', () => {
    const headers = new Map([['baggage', 'userId=42,x-fork-identifier=zed']]);
    runWithForkId('alice', () => {
      injectForkHeaders(headers, mapAccess);
      injectForkHeaders(headers, mapAccess);
    });
    expect(headers.get('baggage')).toBe('x-fork-identifier=alice,userId=42');
    expect(headers.get('x-fork-identifier')).toBe('alice');
  });

  it('adds an explicitly given fork instead of the current one', () => {
    const headers = new Map([['baggage', 'userId=42']]);
    expect(
      runWithForkId('alice', () => injectForkHeaders(headers, mapAccess, 'http://b/', 'bob')),
    ).toBe(true);
    expect(Object.fromEntries(headers)).toEqual({
      'x-fork-identifier': 'bob',
      baggage: 'x-fork-identifier=bob,userId=42',
    });
  });

  it('adds an explicitly given fork outside any scope, still asking propagateTo', () => {
    configure({ propagateTo: (url) => url.hostname === 'orders' });
    const allowed = new Map<string, string>();
    const rejected = new Map<string, string>();
    expect(injectForkHeaders(allowed, mapAccess, 'http://orders/', 'bob')).toBe(true);
    expect(injectForkHeaders(rejected, mapAccess, 'https://api.example.com/', 'bob')).toBe(false);
    expect(allowed.get('x-fork-identifier')).toBe('bob');
    expect(rejected.size).toBe(0);
  });

  it('adds nothing for an invalid explicitly given fork, even inside a fork', () => {
    const headers = new Map<string, string>();
    expect(
      runWithForkId('alice', () => injectForkHeaders(headers, mapAccess, undefined, 'not valid')),
    ).toBe(false);
    expect(headers.size).toBe(0);
  });
});
