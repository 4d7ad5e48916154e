import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { kubefork } from './run.js';

const BLOCK_CLIENT_NODE = fileURLToPath(
  new URL('./support/block-client-node.mjs', import.meta.url),
);

const COMMANDS = ['fork', 'ls', 'status', 'extend', 'rm', 'manifest'];

describe('kubefork', () => {
  it('lists the commands on --help (stdout, exit 0) and without a command (stderr, exit 2)', async () => {
    const help = await kubefork(['--help']);
    expect(help.code).toBe(0);
    for (const name of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    const bare = await kubefork([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toBe(help.stdout);
  });

  it.each(COMMANDS)('%s --help prints its usage with the common options', async (name) => {
    const { code, stdout, stderr } = await kubefork([name, '--help']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(new RegExp(`^Usage: kubefork ${name}`));
    expect(stdout).toContain('--kubeconfig FILE');
    expect(stdout).toContain('--context NAME');
    expect(stdout).toContain('-n, --namespace NS');
  });

  it('starts without client-node for --help and usage errors, and loads it to reach a cluster', async () => {
    // client-node is most of the start-up time; a resolve hook makes loading it fail.
    const env = { NODE_OPTIONS: `--import=${BLOCK_CLIENT_NODE}` };
    const help = await kubefork(['--help'], env);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect((await kubefork(['ls', '--help'], env)).code).toBe(0);
    expect((await kubefork(['status'], env)).stderr).toMatch(/give exactly one fork ID/);
    // The hook works: a command that needs the cluster does load it, and fails here.
    const ls = await kubefork(['ls', '--kubeconfig', '/nonexistent/config'], env);
    expect(ls.code).not.toBe(0);
    expect(ls.stderr).toContain('blocked: @kubernetes/client-node was loaded');
  });

  it('refuses an unknown command with exit 2', async () => {
    const { code, stderr } = await kubefork(['frok', 'b']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^kubefork: unknown command "frok"/);
  });

  it.each([
    [['ls', '-o', 'wide'], /-o must be table, json or yaml, not "wide"/],
    [['ls', 'extra'], /unexpected argument "extra"/],
    [['status'], /give exactly one fork ID/],
    [['extend', 'alice'], /give a fork ID and a DURATION/],
    [['extend', 'alice', 'soon'], /"soon" is not a duration/],
    [['rm'], /give exactly one fork ID/],
    [['fork', 'b', '--timeout', 'never'], /--timeout "never" is not a duration/],
    [['fork', 'b', '--id', '.x'], /invalid fork id ".x"/],
  ])(
    '%j is a usage error (exit 2), checked before any cluster is needed',
    async (args, message) => {
      const { code, stderr } = await kubefork(args);
      expect(code).toBe(2);
      expect(stderr).toMatch(message);
    },
  );

  it('says where it looked for a kubeconfig when there is none (exit 1, no stack trace)', async () => {
    const { code, stderr } = await kubefork(['ls']);
    expect(code).toBe(1);
    expect(stderr).toBe(
      'kubefork ls: no cluster configuration: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config\n',
    );
  });

  it('names a --kubeconfig file that does not exist, and a context that is not in it', async () => {
    const missing = await kubefork(['ls', '--kubeconfig', '/nonexistent/config']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--kubeconfig \/nonexistent\/config: no such file/);
    const file = join(tmpdir(), `kubefork-cli-${process.pid}.kubeconfig`);
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'one', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'one',
      }),
    );
    const context = await kubefork(['ls', '--context', 'two'], { KUBECONFIG: file });
    expect(context.code).toBe(1);
    expect(context.stderr).toMatch(/context "two" is not in the kubeconfig \(contexts: one\)/);
    const down = await kubefork(['ls'], { KUBECONFIG: file });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /^kubefork ls: cannot reach the API server https:\/\/127\.0\.0\.1:1: /,
    );
    expect(down.stderr).not.toMatch(/\n\s+at /);
  });
});
