import { userInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { kubefork } from './run.js';

describe('kubefork manifest', () => {
  it('prints the Fork with every override, without a cluster', async () => {
    const { code, stdout, stderr } = await kubefork([
      'manifest',
      'b',
      'e',
      '--id',
      'alice',
      '--image',
      'b=registry.example.com/b:pr-1',
      '--env',
      'b:FEATURE=on',
      '--env',
      'b:URL=http://x?a=b',
      '--replicas',
      'e=2',
      '--ttl',
      '2d',
      '-n',
      'shop',
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(parse(stdout)).toEqual({
      apiVersion: 'kubefork.dev/v1beta1',
      kind: 'Fork',
      metadata: { name: 'alice', namespace: 'shop' },
      spec: {
        ttl: '2d',
        services: [
          {
            name: 'b',
            image: 'registry.example.com/b:pr-1',
            env: [
              { name: 'FEATURE', value: 'on' },
              { name: 'URL', value: 'http://x?a=b' },
            ],
          },
          { name: 'e', replicas: 2 },
        ],
      },
    });
  });

  it('quotes what YAML 1.1 (kubectl) would read as a boolean or a number', async () => {
    const { stdout } = await kubefork([
      'manifest',
      'b',
      '--id',
      'y',
      '--env',
      'b:A=on',
      '--env',
      'b:B=1_000',
      '--env',
      'b:N=no',
      '-n',
      'no',
    ]);
    expect(stdout).toContain('namespace: "no"');
    expect(stdout).toContain('name: "y"');
    expect(stdout).toContain('value: "on"');
    expect(stdout).toContain('value: "1_000"');
    expect(stdout).toContain('name: "N"');
    expect(parse(stdout, { version: '1.1' })).toEqual(parse(stdout, { version: '1.2' }));
  });

  it('keeps a fork id that is no object name in spec.forkId', async () => {
    const { stdout } = await kubefork(['manifest', 'b', '--id', 'Alice_2', '-o', 'json']);
    expect(JSON.parse(stdout)).toMatchObject({
      metadata: { name: 'alice-2' },
      spec: { forkId: 'Alice_2', services: [{ name: 'b' }] },
    });
  });

  it('uses your user name as the fork id when --id is not given', async () => {
    const { code, stdout } = await kubefork(['manifest', 'b', '-o', 'json']);
    expect(code).toBe(0);
    const user = userInfo().username;
    expect(JSON.parse(stdout).metadata.name).toBe(
      user
        .toLowerCase()
        .replace(/[^-a-z0-9.]+/g, '-')
        .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, ''),
    );
  });

  it.each([
    [['manifest'], /name at least one SERVICE/],
    [['manifest', 'B'], /"B" is not a Service name/],
    [['manifest', 'b', 'b'], /service "b" is named twice/],
    [['manifest', 'b', '--id', 'a b'], /invalid fork id "a b"/],
    [['manifest', 'b', '--id', 'x'.repeat(64)], /invalid fork id/],
    [['manifest', 'b', '--image', 'c=img'], /--image names service "c", which is not among/],
    [['manifest', 'b', '--image', 'b'], /--image "b" is not SERVICE=IMAGE/],
    [['manifest', 'b', '--env', 'b=X'], /--env "b=X" is not SERVICE:NAME=VALUE/],
    [['manifest', 'b', '--env', 'b:KUBEFORK_FORK_ID=x'], /controller sets it/],
    [['manifest', 'b', '--replicas', 'b=9'], /N must be 0 to 5/],
    [['manifest', 'b', '--ttl', '8 hours'], /--ttl "8 hours" is not a duration/],
    [['manifest', 'b', '--ttl', '0h'], /--ttl "0h" is not a duration/],
    [['manifest', 'b', '-o', 'table'], /-o must be yaml or json/],
    [['manifest', 'b', '--nope'], /Unknown option '--nope'/],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const { code, stdout, stderr } = await kubefork(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/Run "kubefork manifest --help" for usage\.\n$/);
  });
});
