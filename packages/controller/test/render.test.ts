import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { planHost, type VirtualService, type VSConfig } from '../src/index.js';
import { runCli } from './support/cli.js';
import { foreignVirtualService, vsconfig } from './support/fixtures.js';
import { virtualServiceProblems } from './support/virtual-service.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubefork-render-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `objects` as multi-document YAML to a new file in the temporary directory. */
async function file(name: string, objects: unknown[] | string): Promise<string> {
  const path = join(dir, name);
  const text =
    typeof objects === 'string' ? objects : objects.map((o) => stringify(o)).join('---\n');
  await writeFile(path, text);
  return path;
}

function yamlOf(objects: unknown[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

function documents(text: string): unknown[] {
  return parseAllDocuments(text).map((document) => document.toJS());
}

const alice = vsconfig({ name: 'cart-alice', value: 'alice', port: 8080 });
const bob = vsconfig({ name: 'cart-bob', value: 'bob' });
const payCarol = vsconfig({ name: 'pay-carol', value: 'carol', host: 'pay', service: 'pay-carol' });

describe('kubefork-controller render', () => {
  it('prints the planned VirtualService of a file and exits 0', async () => {
    const path = await file('one.yaml', [alice, bob]);
    const run = await runCli(['render', path]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const expected = planHost({ namespace: 'shop', host: 'cart', vsconfigs: [alice, bob] });
    expect(documents(run.stdout)).toEqual([expected.virtualService]);
  });

  it('reads stdin when the file is "-"', async () => {
    const run = await runCli(['render', '-'], { stdin: yamlOf([alice]) });
    expect(run.code).toBe(0);
    expect(documents(run.stdout)).toEqual([
      planHost({ namespace: 'shop', host: 'cart', vsconfigs: [alice] }).virtualService,
    ]);
  });

  it('prints one VirtualService per host, in namespace and host order', async () => {
    const run = await runCli(['render', '-'], { stdin: yamlOf([payCarol, alice]) });
    expect(run.code).toBe(0);
    const names = documents(run.stdout).map((o) => (o as VirtualService).metadata.name);
    expect(names).toEqual(['cart', 'pay']);
  });

  it('prints the same bytes whatever the order of objects and files', async () => {
    const first = await file('order-a.yaml', [alice, payCarol]);
    const second = await file('order-b.yaml', [bob]);
    const all = await file('order-c.yaml', [payCarol, bob, alice]);
    const split = await runCli(['render', second, first]);
    const joined = await runCli(['render', all]);
    expect(split.code).toBe(0);
    expect(split.stdout).toBe(joined.stdout);
  });

  it('prints objects that pass the Istio schema and the own checks', async () => {
    const run = await runCli(['render', '-'], { stdin: yamlOf([alice, bob, payCarol]) });
    for (const object of documents(run.stdout)) {
      expect(virtualServiceProblems(object as VirtualService)).toEqual([]);
    }
  });

  it('prints nothing and exits 0 when there is no VSConfig', async () => {
    const run = await runCli(['render', '-'], { stdin: '' });
    expect(run).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('exits 3 and reports each rejected VSConfig on stderr, still printing the rest', async () => {
    const duplicate = vsconfig({ name: 'cart-zed', value: 'alice', service: 'cart-zed' });
    const loop = vsconfig({ name: 'cart-loop', value: 'loop', service: 'cart' });
    const run = await runCli(['render', '-'], { stdin: yamlOf([alice, duplicate, loop]) });
    expect(run.code).toBe(3);
    expect(run.stderr.split('\n')).toEqual([
      'shop/cart-loop: Invalid: spec.service must differ from spec.host (a fork routes to its own Service); both are "cart".',
      'shop/cart-zed: DuplicateHeaderValue: x-fork-identifier: alice is already routed to "cart-alice" by the older VSConfig "cart-alice"; delete or change one of them.',
      '',
    ]);
    expect(documents(run.stdout)).toEqual([
      planHost({ namespace: 'shop', host: 'cart', vsconfigs: [alice] }).virtualService,
    ]);
  });

  it('exits 3 with empty stdout when every VSConfig is rejected', async () => {
    const run = await runCli(['render', '-'], {
      stdin: yamlOf([vsconfig({ name: 'x', header: 'x-other' })]),
    });
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^shop\/x: HeaderNotAllowed: /);
  });

  it('lets more header names through with --header-allow', async () => {
    const other = vsconfig({ name: 'x', header: 'x-other' });
    const run = await runCli(['render', '--header-allow', 'x-other', '-'], {
      stdin: yamlOf([other]),
    });
    expect(run.code).toBe(0);
  });

  it('puts objects without namespace into "default", or into the one given with -n', async () => {
    const nameless = { ...alice, metadata: { name: 'cart-alice' } };
    const byDefault = await runCli(['render', '-'], { stdin: yamlOf([nameless]) });
    const given = await runCli(['render', '-n', 'team-a', '-'], { stdin: yamlOf([nameless]) });
    expect((documents(byDefault.stdout)[0] as VirtualService).metadata.namespace).toBe('default');
    expect((documents(given.stdout)[0] as VirtualService).metadata.namespace).toBe('team-a');
  });

  it('uses the cluster domain given with --cluster-domain', async () => {
    const run = await runCli(['render', '--cluster-domain', 'corp.example', '-'], {
      stdin: yamlOf([alice]),
    });
    expect((documents(run.stdout)[0] as VirtualService).spec.hosts).toEqual([
      'cart.shop.svc.corp.example',
    ]);
  });

  it('reports a foreign VirtualService of the host in the input', async () => {
    const run = await runCli(['render', '-'], { stdin: yamlOf([foreignVirtualService(), alice]) });
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^shop\/cart-alice: HostClaimedByForeignVirtualService: /);
  });

  it('adds fork routes to an adoptable VirtualService of the host in the input', async () => {
    const existing = foreignVirtualService({ 'kubefork.dev/adopt': 'true' });
    const run = await runCli(['render', '-'], { stdin: yamlOf([existing, alice]) });
    expect(run.code).toBe(0);
    const expected = planHost({ namespace: 'shop', host: 'cart', vsconfigs: [alice], existing });
    expect(documents(run.stdout)).toEqual([expected.virtualService]);
  });

  it('reads the items of a List and skips objects of other kinds', async () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [alice, bob] };
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'cart' } };
    const run = await runCli(['render', '-'], { stdin: yamlOf([service, list]) });
    expect(run.code).toBe(0);
    expect(documents(run.stdout)).toEqual([
      planHost({ namespace: 'shop', host: 'cart', vsconfigs: [alice, bob] }).virtualService,
    ]);
  });

  it('reports a readable VSConfig with a wrongly typed field as Invalid, not as unreadable', async () => {
    const odd = { ...alice, spec: { ...alice.spec, headerValue: { a: 1 } } } as unknown as VSConfig;
    const run = await runCli(['render', '-'], { stdin: yamlOf([odd]) });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^shop\/cart-alice: Invalid: spec.headerValue must be a fork id/);
  });
});

describe('kubefork-controller render with unreadable input', () => {
  it('exits 1 naming file, line and column of a YAML syntax error', async () => {
    const path = await file(
      'broken.yaml',
      `${yamlOf([alice])}---\nkind: VSConfig\nspec: {host: "cart\n`,
    );
    const run = await runCli(['render', path]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`^kubefork-controller render: ${path}:1[0-9]:\\d+: `));
  });

  it('names the line of a duplicate key', async () => {
    const path = await file('dup-key.yaml', 'apiVersion: v1\nkind: List\nkind: List\n');
    const run = await runCli(['render', path]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${path}:3:1: `);
  });

  it('exits 1 for a document that is not a Kubernetes object', async () => {
    const path = await file('scalar.yaml', `${yamlOf([alice])}---\n- just\n- a list\n`);
    const run = await runCli(['render', path]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `kubefork-controller render: ${path}:12:1: not a Kubernetes object (apiVersion and kind required)\n`,
    );
  });

  it('exits 1 for a VSConfig without a name', async () => {
    const nameless = { ...alice, metadata: { namespace: 'shop' } };
    const run = await runCli(['render', '-'], { stdin: yamlOf([nameless]) });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'kubefork-controller render: <stdin>:1:1: VSConfig without metadata.name\n',
    );
  });

  it('exits 1 for the same VSConfig defined twice, naming both places', async () => {
    const first = await file('twice-a.yaml', [alice]);
    const second = await file('twice-b.yaml', [bob, alice]);
    const run = await runCli(['render', first, second]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${second}:11:1: VSConfig shop/cart-alice is defined twice`);
    expect(run.stderr).toContain(`also at ${first}:1:1`);
  });

  it('exits 1 for a file that does not exist, naming it', async () => {
    const path = join(dir, 'missing.yaml');
    const run = await runCli(['render', path]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `kubefork-controller render: ${path}: cannot read (ENOENT: no such file or directory)\n`,
    );
  });
});

describe('kubefork-controller usage', () => {
  it('prints the commands with --help and exits 0', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Commands:\n\s+render\s+/);
  });

  it('prints the render options with render --help and exits 0', async () => {
    const run = await runCli(['render', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--header-allow NAME');
  });

  it.each<[string, string[], RegExp]>([
    ['no command', [], /Usage: kubefork-controller <command>/],
    ['an unknown command', ['deploy'], /unknown command "deploy"/],
    ['an unknown option', ['render', '--bogus', '-'], /Unknown option '--bogus'/],
    ['render without input', ['render'], /no input/],
    ['stdin given twice', ['render', '-', '-'], /only once/],
    ['an invalid cluster domain', ['render', '--cluster-domain', 'A_B', '-'], /clusterDomain/],
  ])('exits 2 for %s', async (_label, args, message) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});
