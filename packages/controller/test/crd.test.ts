import { DEFAULT_FORK_ID_PATTERN, DEFAULT_HEADER, DEFAULT_MAX_LENGTH } from '@kubefork/context';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VSCONFIG_API_VERSION, VSCONFIG_GROUP, VSCONFIG_KIND } from '../src/index.js';
import {
  checkVSConfig,
  DNS_1035_LABEL,
  DNS_LABEL_MAX_LENGTH,
  HEADER_NAME_MAX_LENGTH,
  HEADER_NAME_PATTERN,
} from '../src/validate.js';
import {
  celRules,
  crd,
  crdErrors,
  openApiSchema,
  type Schema,
  stripExtensions,
} from './support/crd.js';

const version = crd.spec.versions[0]!;
const spec = (openApiSchema.properties as Record<string, Schema>).spec!;
const fields = spec.properties as Record<string, Schema>;

function vsconfig(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: VSCONFIG_API_VERSION,
    kind: VSCONFIG_KIND,
    metadata: { name: 'cart-alice', namespace: 'shop' },
    spec: { headerValue: 'alice', host: 'cart', service: 'cart-alice', ...fields },
  };
}

describe('the VSConfig CRD', () => {
  it('defines the namespaced kind VSConfig in kubefork.dev with plural vsconfigs and short name vsc', () => {
    expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(crd.metadata.name).toBe(`vsconfigs.${VSCONFIG_GROUP}`);
    expect(crd.spec.group).toBe(VSCONFIG_GROUP);
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({
      kind: VSCONFIG_KIND,
      plural: 'vsconfigs',
      singular: 'vsconfig',
      shortNames: ['vsc'],
    });
  });

  it('serves and stores exactly one version, v1beta1, with a status subresource', () => {
    expect(crd.spec.versions).toHaveLength(1);
    expect(`${crd.spec.group}/${version.name}`).toBe(VSCONFIG_API_VERSION);
    expect(version).toMatchObject({ served: true, storage: true, subresources: { status: {} } });
  });

  it('prints Host, Header, Value, Service, Ready and Age', () => {
    expect(version.additionalPrinterColumns).toEqual([
      { name: 'Host', type: 'string', jsonPath: '.spec.host' },
      { name: 'Header', type: 'string', jsonPath: '.spec.headerName' },
      { name: 'Value', type: 'string', jsonPath: '.spec.headerValue' },
      { name: 'Service', type: 'string', jsonPath: '.spec.service' },
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ]);
  });

  it('validates headerValue with the SDK pattern and maximum length from @kubefork/context', () => {
    expect(fields.headerValue).toMatchObject({
      pattern: DEFAULT_FORK_ID_PATTERN.source,
      maxLength: DEFAULT_MAX_LENGTH,
      minLength: 1,
    });
  });

  it('defaults headerName to the SDK header and validates it as the planner does', () => {
    expect(fields.headerName).toMatchObject({
      default: DEFAULT_HEADER,
      pattern: HEADER_NAME_PATTERN.source,
      maxLength: HEADER_NAME_MAX_LENGTH,
    });
  });

  it('validates host and service as DNS-1035 labels, as the planner does', () => {
    for (const field of [fields.host, fields.service]) {
      expect(field).toMatchObject({
        pattern: DNS_1035_LABEL.source,
        maxLength: DNS_LABEL_MAX_LENGTH,
      });
    }
    expect(spec.required).toEqual(['headerValue', 'host', 'service']);
  });

  it('compiles as JSON schema once the x-kubernetes extensions are stripped', () => {
    const stripped = JSON.stringify(stripExtensions(openApiSchema));
    expect(stripped).not.toContain('x-kubernetes-');
    expect(crdErrors(vsconfig({}))).toEqual([]);
  });

  it('has CEL rules for the cross-field and header-name rules', () => {
    expect(celRules(openApiSchema).map(({ path, rule }) => [path.join('.'), rule])).toEqual([
      ['spec', 'self.host != self.service'],
      ['spec.headerName', "!self.endsWith('-bin')"],
      ['spec.headerName', "self != 'baggage'"],
    ]);
  });

  it('keeps conditions as a map keyed by type, the metav1.Condition convention', () => {
    const status = (openApiSchema.properties as Record<string, Schema>).status!;
    const conditions = (status.properties as Record<string, Schema>).conditions!;
    expect(conditions['x-kubernetes-list-type']).toBe('map');
    expect(conditions['x-kubernetes-list-map-keys']).toEqual(['type']);
  });

  it('accepts a complete status written by the controller', () => {
    const object = {
      ...vsconfig({}),
      status: {
        observedGeneration: 3,
        virtualService: 'cart',
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            observedGeneration: 3,
            lastTransitionTime: '2024-05-01T12:00:00Z',
            reason: 'DuplicateHeaderValue',
            message: 'x-fork-identifier: alice is already routed.',
          },
        ],
      },
    };
    expect(crdErrors(object)).toEqual([]);
  });
});

describe('VSConfig validation (the CRD and the planner agree)', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['host equal to service', { service: 'cart' }, /spec.service must differ from spec.host/],
    ['a header name ending in -bin', { headerName: 'x-fork-bin' }, /-bin/],
    ['the baggage header as header name', { headerName: 'baggage' }, /baggage/],
    ['an upper-case header name', { headerName: 'X-Fork-Identifier' }, /headerName/],
    ['a header name with a colon', { headerName: ':authority' }, /headerName/],
    ['an empty header value', { headerValue: '' }, /headerValue/],
    ['a header value with a space', { headerValue: 'al ice' }, /headerValue/],
    ['a header value starting with a dot', { headerValue: '.alice' }, /headerValue/],
    ['a header value of 64 characters', { headerValue: 'a'.repeat(64) }, /headerValue/],
    ['a header value with a trailing newline', { headerValue: 'alice\n' }, /headerValue/],
    ['a number as header value', { headerValue: 7 }, /headerValue/],
    ['a host with an underscore', { host: 'my_cart' }, /host/],
    ['a host starting with a digit', { host: '9cart' }, /host/],
    ['a service ending in a dash', { service: 'cart-' }, /service/],
    ['a service of 64 characters', { service: `a${'b'.repeat(63)}` }, /service/],
    ['port 0', { port: 0 }, /port/],
    ['port 65536', { port: 65536 }, /port/],
    ['a fractional port', { port: 80.5 }, /port/],
    ['a port given as a string', { port: '80' }, /port/],
  ])('rejects %s', (_label, fields, message) => {
    const object = vsconfig(fields);
    expect(crdErrors(object).join('\n')).toMatch(message);
    const checked = checkVSConfig(object);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.problems.join('\n')).toMatch(message);
  });

  it.each<[string, Record<string, unknown>]>([
    ['the defaults', {}],
    ['an explicit default header', { headerName: 'x-fork-identifier' }],
    ['another header token', { headerName: "x-dev.fork_id~1!#$%&'*+^`|" }],
    ['a header value of 63 characters', { headerValue: `A${'b'.repeat(62)}` }],
    ['a header value with dots, dashes and underscores', { headerValue: '1.2_3-4' }],
    ['port 1', { port: 1 }],
    ['port 65535', { port: 65535 }],
    ['a null port (pruned)', { port: null }],
    ['a null header name (pruned, then defaulted)', { headerName: null }],
  ])('accepts %s', (_label, fields) => {
    const object = vsconfig(fields);
    expect(crdErrors(object)).toEqual([]);
    expect(checkVSConfig(object).ok).toBe(true);
  });

  it('applies the default header name like the API server does', () => {
    const checked = checkVSConfig(vsconfig({}));
    expect(checked.ok && checked.fork.headerName).toBe(DEFAULT_HEADER);
  });

  it('agrees with the CRD on every generated VSConfig', () => {
    const label = fc.oneof(
      fc.constantFrom('cart', 'cart-alice', 'a', 'a1', 'Cart', '9lives', 'a-', '-a', 'a_b', ''),
      fc.stringMatching(/^[a-z0-9-]{1,66}$/),
      fc.string({ maxLength: 8 }),
      fc.integer(),
    );
    const value = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,66}$/),
      fc.constantFrom(
        '',
        ' alice',
        'alice\n',
        'al,ice',
        'ali;ce',
        'ålice',
        '.a',
        '_a',
        'a'.repeat(63),
      ),
      fc.string({ maxLength: 12 }),
      fc.integer(),
      fc.constant(null),
    );
    const header = fc.oneof(
      fc.constantFrom('x-fork-identifier', 'baggage', 'x-id-bin', 'X-Fork', '', 'a'.repeat(257)),
      fc.stringMatching(/^[-!#$%&'*+.^_`|~0-9a-z]{1,12}$/),
      fc.string({ maxLength: 8 }),
      fc.constant(null),
      fc.boolean(),
    );
    const port = fc.oneof(
      fc.integer({ min: -2, max: 70000 }),
      fc.constantFrom(0.5, '80', null, true),
    );
    const spec = fc.record(
      { headerName: header, headerValue: value, host: label, service: label, port },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(spec, (fields) => {
        const object = {
          apiVersion: VSCONFIG_API_VERSION,
          kind: VSCONFIG_KIND,
          metadata: { name: 'generated', namespace: 'shop' },
          spec: fields,
        };
        expect(checkVSConfig(object).ok).toBe(crdErrors(object).length === 0);
      }),
      { numRuns: 2000 },
    );
  });
});
