// Every VirtualService the planner writes, checked by istiod's own validation (the code of its
// validating webhook, built from istio.io/istio by istio-validate/build.sh). The API server's CRD
// schemas (schemas.test.ts) check types only; istiod also refuses, for example, a header regex
// longer than 1,024 characters (istio/istio#36143) or one RE2 cannot compile, and a cluster whose
// webhook refuses our VirtualService routes no fork at all. No API server is started here.
import {
  type HTTPRoute,
  planHost,
  render,
  type VirtualService,
  type VSConfig,
} from '@kubefork/controller/plan';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { istioValidateBinary, validateWithIstio } from '../src/index.js';

const NAMESPACE = 'shop';
// istiod refuses longer header regexes (validateStringRegexp in pkg/config/validation).
const ISTIO_REGEX_MAX_LENGTH = 1024;
// The longest header name a VSConfig may name (packages/controller/src/validate.ts).
const HEADER_NAME_MAX_LENGTH = 256;
// A header name of 40 characters, allowed by the VSConfigs' allow-list below.
const CUSTOM_HEADER = 'x-acme-checkout-preview-environment-fork';
const LONGEST_ID = `f${'0123456789'.repeat(6)}zz`; // 63 characters, DEFAULT_MAX_LENGTH
// 63 characters too, dots and dashes between every pair.
const DOTTED_ID = 'a.b-c.d-e.f-g.h-i.j-k.l-m.n-o.p-q.r-s.t-u.v-w.x-y.z-0.1-2.3-4.5';

interface Fork {
  value: string;
  header?: string;
  port?: number;
}

function vsconfigs(host: string, forks: readonly Fork[]): VSConfig[] {
  return forks.map((fork, index) => ({
    apiVersion: 'kubefork.dev/v1beta1',
    kind: 'VSConfig',
    metadata: {
      name: `${host}-${index}`,
      namespace: NAMESPACE,
      creationTimestamp: `2026-01-0${1 + (index % 9)}T00:00:00Z`,
    },
    spec: {
      headerName: fork.header ?? 'x-fork-identifier',
      headerValue: fork.value,
      host,
      service: `${host}-fork-${index}`,
      ...(fork.port === undefined ? {} : { port: fork.port }),
    },
  }));
}

/** The VirtualService planHost writes for `forks` of `host`; every VSConfig must be Ready. */
function plan(host: string, forks: readonly Fork[]): VirtualService {
  const result = planHost({
    namespace: NAMESPACE,
    host,
    vsconfigs: vsconfigs(host, forks),
    headerAllowList: ['x-fork-identifier', CUSTOM_HEADER],
  });
  expect(
    result.results.filter((r) => !r.ready),
    host,
  ).toEqual([]);
  if (!result.virtualService) throw new Error(`planHost wrote no VirtualService for ${host}`);
  return result.virtualService;
}

/** `route: where: length` of every header regex, for failure messages. */
function regexLengths(vs: VirtualService): string[] {
  const lines: string[] = [];
  for (const route of (vs.spec.http ?? []) as HTTPRoute[]) {
    for (const match of route.match ?? []) {
      for (const field of ['headers', 'withoutHeaders'] as const) {
        for (const [header, condition] of Object.entries(match[field] ?? {})) {
          const regex = (condition as { regex?: string }).regex;
          if (regex !== undefined) {
            const over = regex.length > ISTIO_REGEX_MAX_LENGTH ? ' (over the limit)' : '';
            lines.push(`${route.name}: ${field}.${header}.regex ${regex.length} chars${over}`);
          }
        }
      }
    }
  }
  return lines;
}

/** istiod's errors and, when there are any, the length of every header regex; '' when admitted. */
function refusal(errors: readonly string[], vs: VirtualService): string {
  return errors.length === 0 ? '' : [...errors, ...regexLengths(vs)].join('\n');
}

const CASES: Record<string, Fork[]> = {
  alice: [{ value: 'alice' }],
  bob: [{ value: 'bob' }],
  'longest id': [{ value: LONGEST_ID }],
  'dotted id': [{ value: DOTTED_ID }],
  'with port': [{ value: 'alice', port: 8443 }],
  'custom header': [{ value: 'bob', header: CUSTOM_HEADER }],
  'several forks': [
    { value: 'alice' },
    { value: 'bob' },
    { value: LONGEST_ID },
    { value: DOTTED_ID, port: 9090 },
    { value: 'carol', header: CUSTOM_HEADER },
    { value: 'Dave_2' },
  ],
};

/** A VirtualService with one header route whose match is `match`, for the negative controls. */
function withMatch(name: string, match: Record<string, unknown>): VirtualService {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: NAMESPACE },
    spec: {
      hosts: ['cart'],
      http: [
        { name: 'probe', match: [match], route: [{ destination: { host: 'cart-probe' } }] },
        { name: 'default', route: [{ destination: { host: 'cart' } }] },
      ],
    },
  } as unknown as VirtualService;
}

beforeAll(() => {
  // Cold, this builds the validator (minutes); `pnpm test:cluster` has built it before vitest.
  istioValidateBinary();
}, 900_000);

describe('istiod’s validation (the code of its validating webhook)', () => {
  it('rejects a header regex of 1,025 characters and one RE2 cannot compile (the check can fail)', async () => {
    const objects = [
      withMatch('limit', { headers: { 'x-fork-identifier': { regex: 'a'.repeat(1024) } } }),
      withMatch('too-long', { headers: { 'x-fork-identifier': { regex: 'a'.repeat(1025) } } }),
      withMatch('too-long-without', {
        withoutHeaders: { baggage: { regex: 'a'.repeat(1025) } },
      }),
      withMatch('not-re2', { headers: { 'x-fork-identifier': { regex: '(?=alice)alice' } } }),
    ];
    const [limit, tooLong, tooLongWithout, notRe2] = await validateWithIstio(objects);
    expect(limit).toMatchObject({ name: 'limit', kind: 'VirtualService', errors: [] });
    expect(tooLong?.errors).toEqual([
      expect.stringContaining('regex is too large, max length allowed is 1024'),
    ]);
    expect(tooLongWithout?.errors).toEqual([
      expect.stringContaining('regex is too large, max length allowed is 1024'),
    ]);
    expect(notRe2?.errors).toEqual([expect.stringContaining('error parsing regexp')]);
  });

  it.each(Object.entries(CASES))(
    'admits the VirtualService planHost writes: %s',
    async (label, forks) => {
      const vs = plan(label.replaceAll(' ', '-'), forks);
      const [result] = await validateWithIstio([vs]);
      expect(result?.kind).toBe('VirtualService');
      expect(refusal(result?.errors ?? ['no result'], vs), 'what istiod refuses').toBe('');
    },
  );

  it('never writes a VirtualService istiod refuses at the limits of a VSConfig (63-character id, 256-character header name)', async () => {
    const header = `x-${'h'.repeat(HEADER_NAME_MAX_LENGTH - 2)}`;
    const result = planHost({
      namespace: NAMESPACE,
      host: 'limits',
      vsconfigs: vsconfigs('limits', [
        { value: LONGEST_ID, header },
        { value: DOTTED_ID, header },
      ]),
      headerAllowList: [header],
    });
    // The planner may refuse such a VSConfig (Invalid, with a reason) or route it; what it
    // writes, istiod must admit.
    for (const r of result.results) if (!r.ready) expect(r.message).not.toBe('');
    if (!result.virtualService) return;
    const [validation] = await validateWithIstio([result.virtualService]);
    expect(
      refusal(validation?.errors ?? ['no result'], result.virtualService),
      'what istiod refuses',
    ).toBe('');
  });

  it('admits what render writes for VSConfigs of several hosts', async () => {
    const text = vsconfigs('cart', [{ value: 'alice' }, { value: 'bob', port: 8080 }])
      .concat(vsconfigs('checkout', [{ value: DOTTED_ID, header: CUSTOM_HEADER }]))
      .map((object) => JSON.stringify(object))
      .join('\n---\n');
    const { yaml, rejected } = render([{ name: 'vsconfigs.yaml', text }], {
      namespace: NAMESPACE,
      headerAllowList: ['x-fork-identifier', CUSTOM_HEADER],
    });
    expect(rejected).toEqual([]);
    const rendered = parseAllDocuments(yaml).map((doc) => doc.toJS() as VirtualService);
    expect(rendered.map((vs) => vs.kind)).toEqual(['VirtualService', 'VirtualService']);
    const results = await validateWithIstio(rendered);
    expect(results.map((r, index) => `${r.name}: ${refusal(r.errors, rendered[index]!)}`)).toEqual(
      rendered.map((vs) => `${vs.metadata.name}: `),
    );
  });
});
