import { configure, extractForkId } from '@kubefork/context';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { matchRoute, planHost, type VirtualService } from '../src/index.js';
import { fqdn, vsconfig } from './support/fixtures.js';

// The promise: the mesh (Istio evaluating the routes planHost generates, RE2 semantics) and the
// SDK (extractForkId) put a request in the same fork. When they cannot agree exactly, the mesh
// must never route to a fork the SDK then treats as baseline: that hop would serve the fork and
// call the next one as baseline.

afterEach(() => configure());

const FORKS = ['alice', 'bob', 'a.b-c_1'] as const;
const virtualService = planHost({
  namespace: 'shop',
  host: 'cart',
  vsconfigs: FORKS.map((value, index) =>
    vsconfig({ name: `cart-${index}`, value, service: `cart-fork-${index}` }),
  ),
}).virtualService as VirtualService;
const destinations = new Map<string, string>(
  FORKS.map((value, index) => [fqdn(`cart-fork-${index}`), value]),
);

/** One request's header lines, in order, as they cross the wire. */
type Lines = Array<[string, string]>;

/** Envoy: repeated headers joined with ',' before matching. */
function meshFork(lines: Lines): string | undefined {
  const headers: Record<string, string> = {};
  for (const [name, value] of lines) {
    const key = name.toLowerCase();
    headers[key] = key in headers ? `${headers[key]},${value}` : value;
  }
  const host = matchRoute(virtualService, { headers });
  if (host === fqdn('cart')) return undefined;
  expect(destinations.has(host ?? '')).toBe(true);
  return destinations.get(host as string);
}

/** node:http: repeated unknown headers joined with ', ' in IncomingHttpHeaders, names lower-cased. */
function sdkFork(lines: Lines): string | undefined {
  const headers: Record<string, string> = {};
  for (const [name, value] of lines) {
    const key = name.toLowerCase();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  return extractForkId(headers);
}

/** The same lines as a carrier that keeps every value apart (a Map, `headersDistinct`). */
function sdkForkDistinct(lines: Lines): string | undefined {
  const headers = new Map<string, string[]>();
  for (const [name, value] of lines) headers.set(name, [...(headers.get(name) ?? []), value]);
  return extractForkId(headers);
}

/** The fork the SDK decides, as the mesh can know it: one of this host's forks or baseline. */
function onThisHost(fork: string | undefined): string | undefined {
  return fork !== undefined && (FORKS as readonly string[]).includes(fork) ? fork : undefined;
}

const H = 'x-fork-identifier';
const big = (count: number, ours?: string) =>
  [
    ...Array.from({ length: count - (ours ? 1 : 0) }, (_, i) => `k${i}=v`),
    ...(ours ? [ours] : []),
  ].join(',');

// Each row: the header lines and the fork both sides must decide.
const table: Array<[string, Lines, string | undefined]> = [
  ['a plain header', [[H, 'alice']], 'alice'],
  [
    'the header twice with one value',
    [
      [H, 'alice'],
      [H, 'alice'],
    ],
    'alice',
  ],
  [
    'the header with two values',
    [
      [H, 'alice'],
      [H, 'bob'],
    ],
    undefined,
  ],
  ['the header with empty list elements', [[H, ' , alice ,, ']], 'alice'],
  [
    'an empty header line next to a value',
    [
      [H, ''],
      [H, 'alice'],
    ],
    'alice',
  ],
  ['an empty header alone', [[H, '']], undefined],
  [
    'an invalid header with a baggage fork',
    [
      [H, 'bad value'],
      ['baggage', `${H}=bob`],
    ],
    undefined,
  ],
  [
    'a header of a fork without a route here',
    [
      [H, 'carol'],
      ['baggage', `${H}=alice`],
    ],
    'carol',
  ],
  ['odd casing of the header name', [['X-Fork-IDENTIFIER', 'alice']], 'alice'],
  ['a plain member', [['baggage', `${H}=alice`]], 'alice'],
  ['an encoded value', [['baggage', `${H}=al%69ce`]], 'alice'],
  ['an encoded dot, lower-case hex', [['baggage', `${H}=a%2eb-c_1`]], 'a.b-c_1'],
  ['encoded spaces around the value', [['baggage', `${H}=%20alice%20`]], undefined],
  ['raw whitespace around the value', [['baggage', `${H} =\talice ;p`]], 'alice'],
  ['duplicate members, same value', [['baggage', `${H}=alice,${H}=al%69ce`]], undefined],
  [
    'our member in each of two baggage headers',
    [
      ['baggage', `${H}=alice`],
      ['baggage', `k=1, ${H}=alice`],
    ],
    undefined,
  ],
  ['our key twice, once only as a key', [['baggage', `${H};p, ${H}=alice`]], undefined],
  ['a longer key and ours', [['baggage', `${H}x=bob,${H}=alice,x${H}=carol`]], 'alice'],
  ['duplicate members, different values', [['baggage', `${H}=alice,${H}=bob`]], undefined],
  ['an empty member of ours before ours', [['baggage', `${H}=,${H}=alice`]], undefined],
  ['an empty list member before ours', [['baggage', ` , ,${H}=alice`]], 'alice'],
  ['our key without a value after ours', [['baggage', `${H}=alice,${H};p`]], undefined],
  ['an encoded key', [['baggage', `x%2Dfork-identifier=alice`]], undefined],
  ['a differently cased key', [['baggage', `X-Fork-Identifier=alice`]], undefined],
  ['our member as a property', [['baggage', `a=1;${H}=alice`]], undefined],
  ['a malformed value of ours', [['baggage', `${H}=al%6`]], undefined],
  ['a malformed foreign member', [['baggage', `k=%zz,${H}=alice`]], 'alice'],
  [
    'two baggage headers',
    [
      ['baggage', 'a=1'],
      ['baggage', `${H}=alice`],
    ],
    'alice',
  ],
  ['180 members with ours last', [['baggage', big(180, `${H}=alice`)]], 'alice'],
  ['181 members with ours first', [['baggage', `${H}=alice,${big(180)}`]], undefined],
  ['181 members with ours last', [['baggage', big(181, `${H}=alice`)]], undefined],
  ['8,192 bytes', [['baggage', `${H}=alice,p=${'x'.repeat(8192 - 26)}`]], 'alice'],
  ['8,193 bytes', [['baggage', `${H}=alice,p=${'x'.repeat(8193 - 26)}`]], undefined],
  [
    // Found by the property below (seed 1111682112): whitespace does not count on either side.
    '8,192 bytes and whitespace, 8,196 with it',
    [['baggage', ` ${H} = alice ,\tp=${'x'.repeat(8192 - 26)}`]],
    'alice',
  ],
  [
    '8,193 bytes and whitespace',
    [['baggage', ` ${H} = alice ,\tp=${'x'.repeat(8193 - 26)}`]],
    undefined,
  ],
  [
    'two lines, 8,192 bytes without the comma node:http joins with',
    [
      ['baggage', `${H}=alice`],
      ['baggage', `p=${'x'.repeat(8192 - 26)}`],
    ],
    'alice',
  ],
];

describe('the SDK and the mesh decide the same fork', () => {
  it.each(table)('%s', (_, lines, fork) => {
    expect(sdkFork(lines)).toBe(fork);
    expect(sdkForkDistinct(lines)).toBe(fork);
    expect(meshFork(lines)).toBe(onThisHost(fork));
  });
});

// Generated header sets: every odd thing a client, a proxy or an attacker may send.

const forkIds = fc.constantFrom('alice', 'bob', 'a.b-c_1', 'carol', 'ALICE', 'alice2', 'al');
const badIds = fc.constantFrom('', ' ', 'bad value', 'al,ice', 'ali;ce', '-x', 'é');
const ows = fc.constantFrom('', '', '', ' ', '\t', '  ');

/** A fork id written raw in baggage: some characters percent-encoded, hex in either case. */
const encoded = fc
  .tuple(forkIds, fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }))
  .map(([id, modes]) =>
    [...id]
      .map((char, index) => {
        const hex = char.charCodeAt(0).toString(16);
        const mode = modes[index % modes.length];
        return mode === 1 ? `%${hex.toUpperCase()}` : mode === 2 ? `%${hex}` : char;
      })
      .join(''),
  );

const rawValue = fc.oneof(
  { weight: 6, arbitrary: encoded },
  { weight: 2, arbitrary: badIds },
  {
    weight: 2,
    arbitrary: fc.constantFrom('%20alice', 'alice%20', 'al%6', 'al%zzce', '%E2%82%AC', 'al%69ce%'),
  },
);

const ourKey = fc.constantFrom(
  H,
  H,
  H,
  'X-Fork-Identifier',
  'x%2Dfork-identifier',
  'x-fork-identifie',
  'x-fork-identifierx',
  'xx-fork-identifier',
  'x-fork identifier',
);

const property = fc.constantFrom('', '', ';p=1', ';flag', `;${H}=bob`, ' ; ttl = 3');

const ourMember = fc
  .tuple(ourKey, ows, ows, rawValue, ows, property, fc.integer({ min: 0, max: 9 }))
  .map(([key, a, b, value, c, prop, shape]) =>
    // Mostly key=value; sometimes a key without '=' (or with the ';' first).
    shape === 0 ? `${a}${key}${prop}` : `${a}${key}${b}=${b}${value}${c}${prop}`,
  );

const foreignMember = fc.oneof(
  fc.constantFrom('', ' ', 'userId=42', 'k=%zz', '=novalue', 'a=1;b=2', 'tenant = acme ; x', 'é=1'),
  fc.string({ unit: fc.constantFrom('a', 'x', '-', '=', ';', '%', ' ', '\t', '2', 'é') }),
);

const baggageLine = fc
  .array(fc.oneof({ weight: 3, arbitrary: ourMember }, { weight: 2, arbitrary: foreignMember }), {
    maxLength: 5,
  })
  .chain((members) =>
    fc.oneof(
      { weight: 24, arbitrary: fc.constant(members.join(',')) },
      // Around the member limit (fillers before or after) and the byte limit.
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.integer({ min: 170, max: 185 }), fc.boolean())
          .map(([count, before]) => {
            const fill = Array.from({ length: count }, (_, i) => `k${i}=v`).join(',');
            return before ? `${fill},${members.join(',')}` : `${members.join(',')},${fill}`;
          }),
      },
      {
        weight: 1,
        arbitrary: fc.integer({ min: 8150, max: 8200 }).map((size) => {
          const text = members.join(',');
          return `${text},p=${'x'.repeat(Math.max(0, size - text.length - 3))}`;
        }),
      },
      {
        // Right at the byte limit as both sides count it (whitespace not counted).
        weight: 1,
        arbitrary: fc.integer({ min: 8190, max: 8194 }).map((size) => {
          const text = members.join(',');
          const counted = text.replace(/[^!-~]/g, '').length;
          return `${text},p=${'x'.repeat(Math.max(0, size - counted - 3))}`;
        }),
      },
    ),
  );

const headerLine = fc
  .tuple(fc.oneof(forkIds, badIds), ows, ows, fc.constantFrom('', '', ', ', ',', ' , alice'))
  .map(([id, a, b, tail]) => `${a}${id}${b}${tail}`);

const headerName = fc.constantFrom(H, H, 'X-Fork-Identifier', 'X-FORK-IDENTIFIER');
const baggageName = fc.constantFrom('baggage', 'baggage', 'Baggage', 'BAGGAGE');

const requests: fc.Arbitrary<Lines> = fc
  .tuple(
    fc.array(fc.tuple(headerName, headerLine), { maxLength: 2 }),
    fc.array(fc.tuple(baggageName, baggageLine), { maxLength: 3 }),
    fc.boolean(),
  )
  .chain(([headers, baggage, interleave]) =>
    interleave
      ? fc.shuffledSubarray([...headers, ...baggage], {
          minLength: headers.length + baggage.length,
        })
      : fc.constant([...baggage, ...headers]),
  );

const isAscii = (lines: Lines) =>
  lines.every(([, value]) => [...value].every((char) => char.charCodeAt(0) <= 0x7f));

describe('property: the SDK and the mesh decide the same fork on generated header sets', () => {
  it('agrees on every ASCII header set and never routes to a fork the SDK calls baseline', () => {
    const seen = { mesh: 0, sdk: 0, meshOnlyBaseline: 0, runs: 0 };
    fc.assert(
      fc.property(requests, (lines) => {
        const sdk = sdkFork(lines);
        const distinct = sdkForkDistinct(lines);
        const mesh = meshFork(lines);
        seen.runs++;
        if (mesh !== undefined) seen.mesh++;
        if (sdk !== undefined) seen.sdk++;
        // The promise, whatever the bytes: a fork's copy is only ever reached by its own fork.
        if (mesh !== undefined) {
          expect(sdk).toBe(mesh);
          expect(distinct).toBe(mesh);
        }
        if (isAscii(lines)) {
          expect(mesh).toBe(onThisHost(sdk));
          expect(mesh).toBe(onThisHost(distinct));
        } else if (onThisHost(sdk) !== mesh) {
          // The safe direction: this hop serves the baseline, the fork goes on downstream.
          expect(mesh).toBeUndefined();
          seen.meshOnlyBaseline++;
        }
      }),
      { numRuns: 4000 },
    );
    // The generator must reach both outcomes often, or the property says little.
    expect(seen.mesh).toBeGreaterThan(seen.runs * 0.05);
    expect(seen.sdk - seen.mesh).toBeGreaterThan(seen.runs * 0.02);
    expect(seen.meshOnlyBaseline).toBeGreaterThan(0);
  });
});

describe('the safe direction where RE2 cannot agree', () => {
  it('does not route a baggage header with non-ASCII bytes, which the SDK still reads', () => {
    // Envoy's RE2 counts UTF-8 characters, the SDK bytes: outside ASCII the mesh holds back.
    const lines: Lines = [['baggage', `name=José,${H}=alice`]];
    expect(sdkFork(lines)).toBe('alice');
    expect(meshFork(lines)).toBeUndefined();
  });
});
