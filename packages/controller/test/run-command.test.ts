// `kubefork-controller run` as a real process (the built bin) against the fake API server.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { binPath, runCli } from './support/cli.js';
import { FakeCluster } from './support/cluster.js';

const NS = 'shop';
let cluster: FakeCluster;
let home: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  cluster = await FakeCluster.start();
  cluster.createServices(NS, 'cart', 'cart-alice');
  home = await mkdtemp(join(tmpdir(), 'kubefork-run-'));
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await cluster.close();
  await rm(home, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  /** Parsed JSON log lines so far. */
  logs: Record<string, unknown>[];
  exit: Promise<number | null>;
}

/** Starts `kubefork-controller run ARGS` with a clean environment: only what `env` gives. */
function start(args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, [binPath, 'run', '--metrics-port', '0', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const logs: Record<string, unknown>[] = [];
  let buffer = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return { child, logs, exit };
}

async function kubeconfigFile(): Promise<string> {
  const file = join(home, 'kubeconfig.yaml');
  await writeFile(file, cluster.server.kubeConfigYaml());
  return file;
}

const messages = (running: Running) => running.logs.map((line) => line.msg);

describe('kubefork-controller run', () => {
  it('prints its options with --help', async () => {
    const result = await runCli(['run', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: kubefork-controller run \[options\]/);
    for (const option of [
      '--namespace',
      '--header-allow',
      '--resync',
      '--metrics-port',
      '--leader-elect',
      '--max-fork-ttl',
      '--max-forks-per-namespace',
      '--allowed-image-prefix',
      '--preview-domain',
      '--preview-gateway',
      '--preview-entry',
      '--disable-forks',
    ]) {
      expect(result.stdout).toContain(option);
    }
  });

  it('is listed by kubefork-controller --help', async () => {
    const result = await runCli(['--help']);
    expect(result.stdout).toMatch(/^\s+run\s+run the controller/m);
  });

  it('exits 2 on an unknown option or a bad value', async () => {
    expect((await runCli(['run', '--frobnicate'])).code).toBe(2);
    const bad = await runCli(['run', '--metrics-port', '70000']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('metricsPort');
  });

  it('exits 2 on Fork options the controller cannot use, naming them', async () => {
    const partial = await runCli(['run', '--preview-domain', 'preview.example.com']);
    expect(partial.code).toBe(2);
    expect(partial.stderr).toContain(
      '--preview-domain, --preview-gateway and --preview-entry go together',
    );
    const preview = [
      '--preview-gateway',
      'istio-system/preview',
      '--preview-entry',
      'web/frontend',
    ];
    const domain = await runCli(['run', '--preview-domain', 'preview', ...preview]);
    expect(domain.code).toBe(2);
    expect(domain.stderr).toContain('preview.domain');
    const ttl = await runCli(['run', '--max-fork-ttl', '0h']);
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toContain('maxForkTtl');
    const quota = await runCli(['run', '--max-forks-per-namespace', '0']);
    expect(quota.code).toBe(2);
    expect(quota.stderr).toContain('maxForksPerNamespace');
  });

  it('exits 1 naming what it tried when there is no cluster configuration', async () => {
    const running = start([], {});
    expect(await running.exit).toBe(1);
    expect(messages(running).join('\n')).toContain('set KUBECONFIG, create ~/.kube/config');
  });

  it('reconciles the cluster named by KUBECONFIG and stops cleanly on SIGTERM', async () => {
    const running = start(['--resync', '60'], { KUBECONFIG: await kubeconfigFile() });
    cluster.applyVSConfig(NS, 'cart-alice', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    await expect
      .poll(() => cluster.readiness(NS, 'cart-alice'), { timeout: 15_000 })
      .toBe('True/Accepted');
    const started = running.logs.find((line) => line.msg === 'controller started')!;
    const ready = await fetch(`http://127.0.0.1:${started.metricsPort}/readyz`);
    expect(ready.status).toBe(200);
    running.child.kill('SIGTERM');
    expect(await running.exit).toBe(0);
    expect(messages(running)).toEqual(expect.arrayContaining(['stopping', 'controller stopped']));
    expect(cluster.server.openWatches()).toEqual([]);
  });

  it('reads ~/.kube/config when KUBECONFIG is not set', async () => {
    await mkdir(join(home, '.kube'));
    await writeFile(join(home, '.kube', 'config'), cluster.server.kubeConfigYaml());
    const running = start(['--namespace', NS], {});
    cluster.applyVSConfig(NS, 'cart-alice', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    await expect.poll(() => cluster.virtualService(NS, 'cart'), { timeout: 15_000 }).toBeDefined();
    running.child.kill('SIGTERM');
    expect(await running.exit).toBe(0);
  });

  it('releases its Lease on SIGTERM when it runs with --leader-elect', async () => {
    const running = start(['--leader-elect', '--lease-namespace', 'kubefork-system'], {
      KUBECONFIG: await kubeconfigFile(),
    });
    const leases = cluster.server.store.type('coordination.k8s.io', 'v1', 'leases')!;
    const holder = () =>
      (
        cluster.server.store.tryGet(
          leases,
          'coordination.k8s.io/v1',
          'kubefork-system',
          'kubefork-controller',
        )?.spec as { holderIdentity?: string } | undefined
      )?.holderIdentity;
    await expect.poll(holder, { timeout: 15_000 }).toMatch(/.+_.+/);
    running.child.kill('SIGTERM');
    expect(await running.exit).toBe(0);
    expect(holder()).toBe('');
  });
});
