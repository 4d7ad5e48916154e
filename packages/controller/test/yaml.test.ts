import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { planHost, type VSConfig } from '../src/index.js';
import { runCli } from './support/cli.js';

// kubectl reads YAML 1.1 (sigs.k8s.io/yaml on go-yaml v2): there `on`, `no`, `y`, `1_000`, `0b101`
// and `190_20` are booleans and numbers. Whatever render prints must read back as the very JSON
// the running controller applies.

/** Strings a YAML 1.1 (or 1.2) reader takes as another type when they are written plain. */
const TRICKY = [
  'on',
  'off',
  'yes',
  'no',
  'y',
  'n',
  'Y',
  'N',
  'ON',
  'NO',
  'Yes',
  'Off',
  'true',
  'False',
  'null',
  'Null',
  'NULL',
  '1_000',
  '0b101',
  '190_20',
  '0x1f',
  '012',
  '0o17',
  '1e3',
  '1.5',
  '1E3',
  '2001-12-14',
  '2001-12-14t21-59-43',
  '0',
  '1_0.5',
  '08',
  '10',
];

function objects(text: string, version: '1.1' | '1.2'): unknown[] {
  return parseAllDocuments(text, { version }).map((document) => {
    expect(document.errors).toEqual([]);
    return document.toJS();
  });
}

describe('render prints YAML a YAML 1.1 reader (kubectl) reads as the controller writes it', () => {
  it('quotes fork ids, hosts, services and namespaces that YAML 1.1 would retype', async () => {
    const namespace = 'no';
    const vsconfigs: VSConfig[] = TRICKY.map((value, index) => ({
      apiVersion: 'kubefork.dev/v1beta1',
      kind: 'VSConfig',
      metadata: { name: `f${index}`, namespace },
      spec: { headerValue: value, host: 'on', service: index % 2 === 0 ? 'y' : 'n' },
    }));
    vsconfigs.push({
      apiVersion: 'kubefork.dev/v1beta1',
      kind: 'VSConfig',
      metadata: { name: 'yes', namespace },
      spec: { headerValue: 'plain', host: 'off', service: 'yes', headerName: 'y' },
    });
    const input = `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: vsconfigs })}\n`;
    const run = await runCli(
      ['render', '--header-allow', 'x-fork-identifier', '--header-allow', 'y', '-'],
      {
        stdin: input,
      },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const expected = ['off', 'on'].map(
      (host) =>
        planHost({
          namespace,
          host,
          vsconfigs: vsconfigs.filter((v) => v.spec.host === host),
          headerAllowList: ['x-fork-identifier', 'y'],
        }).virtualService,
    );
    // What the running controller sends to the API server is JSON.
    const json = JSON.parse(JSON.stringify(expected));
    expect(objects(run.stdout, '1.1')).toEqual(json);
    expect(objects(run.stdout, '1.2')).toEqual(json);
  });
});
