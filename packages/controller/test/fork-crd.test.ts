import { DEFAULT_FORK_ID_PATTERN, DEFAULT_MAX_LENGTH } from '@kubefork/context';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FORK_API_VERSION, FORK_KIND } from '../src/constants.js';
import { checkFork } from '../src/fork-validate.js';
import { loadCrd, type Schema, stripExtensions } from './support/crd.js';

const { crd, openApiSchema, crdErrors } = loadCrd('fork-crd.yaml');
const version = crd.spec.versions[0]!;
const spec = (openApiSchema.properties as Record<string, Schema>).spec!;
const fields = spec.properties as Record<string, Schema>;

function forkObject(specFields: Record<string, unknown>, name = 'alice'): Record<string, unknown> {
  return {
    apiVersion: FORK_API_VERSION,
    kind: FORK_KIND,
    metadata: { name, namespace: 'shop' },
    spec: { services: [{ name: 'cart' }], ...specFields },
  };
}

describe('the Fork CRD', () => {
  it('defines the namespaced kind Fork in kubefork.dev with plural forks', () => {
    expect(crd.metadata.name).toBe('forks.kubefork.dev');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({ kind: FORK_KIND, plural: 'forks', singular: 'fork' });
    expect(`${crd.spec.group}/${version.name}`).toBe(FORK_API_VERSION);
    expect(version).toMatchObject({ served: true, storage: true, subresources: { status: {} } });
  });

  it('prints Fork ID, Services, Ready, Expires, Preview and Age', () => {
    expect(version.additionalPrinterColumns.map((c) => c.name)).toEqual([
      'Fork ID',
      'Services',
      'Ready',
      'Expires',
      'Preview',
      'Age',
    ]);
  });

  it('validates forkId with the SDK pattern and length, and defaults ttl to 8h and replicas to 1', () => {
    expect(fields.forkId).toMatchObject({
      pattern: DEFAULT_FORK_ID_PATTERN.source,
      maxLength: DEFAULT_MAX_LENGTH,
    });
    expect(fields.ttl?.default).toBe('8h');
    const item = (fields.services!.items as Schema).properties as Record<string, Schema>;
    expect(item.replicas).toMatchObject({ default: 1, minimum: 0, maximum: 5 });
  });

  it('keeps services unique by name (a list of type map)', () => {
    expect(fields.services).toMatchObject({
      minItems: 1,
      maxItems: 20,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    });
  });

  it('compiles as JSON schema once the x-kubernetes extensions are stripped', () => {
    expect(JSON.stringify(stripExtensions(openApiSchema))).not.toContain('x-kubernetes-');
    expect(crdErrors(forkObject({}))).toEqual([]);
  });

  it('accepts a complete status written by the controller', () => {
    const object = {
      ...forkObject({}),
      status: {
        observedGeneration: 2,
        forkId: 'alice',
        expiresAt: '2026-12-01T18:00:00Z',
        previewURL: 'https://alice.preview.example.com/',
        clock: { startedAt: '2026-12-01T10:00:00Z', ttl: '8h', extendAt: '1' },
        services: [
          {
            name: 'cart',
            deployment: 'cart-alice',
            service: 'cart-alice',
            vsConfig: 'cart-alice',
            readyReplicas: 0,
          },
          { name: 'ghost', reason: 'ServiceNotFound', message: 'Service "ghost" does not exist.' },
        ],
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            observedGeneration: 2,
            lastTransitionTime: '2026-12-01T10:00:01Z',
            reason: 'ServiceNotFound',
            message: 'ghost: Service "ghost" does not exist.',
          },
        ],
      },
    };
    expect(crdErrors(object)).toEqual([]);
  });
});

describe('Fork validation (the CRD and the controller agree)', () => {
  it.each<[string, Record<string, unknown>, RegExp, string?]>([
    ['no services', { services: [] }, /services/],
    [
      '21 services',
      { services: Array.from({ length: 21 }, (_, i) => ({ name: `s${i}` })) },
      /services/,
    ],
    ['a service named twice', { services: [{ name: 'cart' }, { name: 'cart' }] }, /services|twice/],
    ['a service name with capitals', { services: [{ name: 'Cart' }] }, /name/],
    ['6 replicas', { services: [{ name: 'cart', replicas: 6 }] }, /replicas/],
    ['-1 replicas', { services: [{ name: 'cart', replicas: -1 }] }, /replicas/],
    ['an image with a space', { services: [{ name: 'cart', image: 'a b' }] }, /image/],
    ['a container with capitals', { services: [{ name: 'cart', container: 'App' }] }, /container/],
    ['env without a value', { services: [{ name: 'cart', env: [{ name: 'A' }] }] }, /env/],
    [
      'KUBEFORK_FORK_ID in env',
      { services: [{ name: 'cart', env: [{ name: 'KUBEFORK_FORK_ID', value: 'x' }] }] },
      /KUBEFORK_FORK_ID/,
    ],
    [
      'an env variable twice',
      {
        services: [
          {
            name: 'cart',
            env: [
              { name: 'A', value: '1' },
              { name: 'A', value: '2' },
            ],
          },
        ],
      },
      /env|twice/,
    ],
    ['a forkId with a space', { forkId: 'al ice' }, /forkId/],
    ['a forkId of 64 characters', { forkId: 'a'.repeat(64) }, /forkId/],
    ['a zero ttl', { ttl: '0h' }, /ttl/],
    ['a ttl without unit', { ttl: '8' }, /ttl/],
    ['a name too long for a fork id and no forkId', {}, /forkId/, 'a'.repeat(64)],
  ])('rejects %s', (_label, specFields, message, name) => {
    const object = forkObject(specFields, name);
    expect(crdErrors(object).join('\n')).toMatch(message);
    const checked = checkFork(object);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.problems.join('\n')).toMatch(message);
  });

  it.each<[string, Record<string, unknown>, string?]>([
    ['the defaults', {}],
    [
      'every field',
      {
        forkId: 'Alice_1.x',
        ttl: '1h30m',
        services: [
          {
            name: 'cart',
            image: 'r/cart:1',
            container: 'app',
            env: [{ name: 'FEATURE_X', value: 'on' }],
            replicas: 0,
          },
        ],
      },
    ],
    ['a long name with a forkId', { forkId: 'alice' }, 'a'.repeat(100)],
    ['20 services', { services: Array.from({ length: 20 }, (_, i) => ({ name: `s${i}` })) }],
  ])('accepts %s', (_label, specFields, name) => {
    const object = forkObject(specFields, name);
    expect(crdErrors(object)).toEqual([]);
    expect(checkFork(object).ok).toBe(true);
  });

  it('agrees with the CRD on every generated Fork', () => {
    const name = fc.oneof(
      fc.constantFrom('cart', 'pay', 'Cart', '9x', 'a-', ''),
      fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/),
      fc.integer(),
    );
    const entry = fc.record(
      {
        name,
        image: fc.oneof(fc.constantFrom('r/cart:1', 'a b', ''), fc.string({ maxLength: 6 })),
        container: fc.oneof(fc.constantFrom('app', 'App', '-a'), fc.string({ maxLength: 4 })),
        replicas: fc.oneof(fc.integer({ min: -1, max: 6 }), fc.constantFrom(1.5, '1', null)),
        env: fc.array(
          fc.record(
            {
              name: fc.constantFrom('A', 'B', '1A', 'KUBEFORK_FORK_ID', ''),
              value: fc.oneof(fc.string({ maxLength: 3 }), fc.integer()),
            },
            { requiredKeys: ['name'] },
          ),
          { maxLength: 3 },
        ),
      },
      { requiredKeys: ['name'] },
    );
    const specArb = fc.record(
      {
        forkId: fc.oneof(
          fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,65}$/),
          fc.constantFrom('', ' a', 'a\n'),
          fc.constant(null),
        ),
        ttl: fc.oneof(
          fc.constantFrom('8h', '0h', '1h30m', '2d', '8', 'h', '00m', '1H'),
          fc.stringMatching(/^([0-9]{1,2}[dhms]){1,2}$/),
        ),
        services: fc.array(entry, { maxLength: 4 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(specArb, fc.constantFrom('alice', 'a'.repeat(64)), (specFields, metaName) => {
        const object = {
          apiVersion: FORK_API_VERSION,
          kind: FORK_KIND,
          metadata: { name: metaName, namespace: 'shop' },
          spec: specFields,
        };
        expect(checkFork(object).ok).toBe(crdErrors(object).length === 0);
      }),
      { numRuns: 1500 },
    );
  });
});
