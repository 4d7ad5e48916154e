// The Fork reconciler at scale on the real control plane: 50 Forks × 3 services in one namespace
// (50 is the default --max-forks-per-namespace) → 150 copies, 150 Services, 150 VSConfigs and 50
// preview VirtualServices. Prints time, API writes and CPU of this process (the controller runs
// in it; the test's own polling is a few list calls a second). Then a resync of all those Forks
// must write nothing.
import type { Controller } from '@kubefork/controller';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCluster, type TestCluster } from '../src/index.js';
import {
  Api,
  createWorkload,
  fork,
  installDeploy,
  metric,
  startForkController,
  until,
} from './support/forks.js';

const FORKS = 50;
const SERVICES = ['cart', 'pay', 'ship'];
const RESYNC_SECONDS = 15;

let cluster: TestCluster;
let api: Api;
let controller: Controller;

beforeAll(async () => {
  cluster = await startCluster();
  api = new Api(cluster.admin);
  await installDeploy(cluster);
  await cluster.ensureNamespace('bench');
  await cluster.ensureNamespace('web');
  for (const name of SERVICES) await createWorkload(api, 'bench', name, { app: name });
  controller = await startForkController(cluster, {
    maxForksPerNamespace: FORKS,
    resyncSeconds: RESYNC_SECONDS,
  });
  await until('the controller to be ready', () => controller.isReady());
});

afterAll(async () => {
  await controller?.stop();
  await cluster?.stop();
});

async function readyForks(): Promise<number> {
  const forks = await api.list('forks', 'bench');
  return forks.filter((f) =>
    ((f.status?.conditions ?? []) as { type: string; status: string }[]).some(
      (c) => c.type === 'Ready' && c.status === 'True',
    ),
  ).length;
}

it(`writes ${FORKS} Forks × ${SERVICES.length} services, then a resync writes nothing`, async () => {
  const writesBefore = await metric(controller, 'kubefork_api_writes_total');
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < FORKS; i++) {
    const created = await api.create(
      'forks',
      'bench',
      fork('bench', `dev${i}`, { services: SERVICES.map((name) => ({ name })) }),
    );
    expect(created.status).toBe(201);
  }
  await expect.poll(readyForks, { timeout: 240_000, interval: 1000 }).toBe(FORKS);
  const count = async (kind: 'deployments' | 'services' | 'vsconfigs') =>
    (await api.list(kind, 'bench', 'kubefork.dev/fork')).length;
  await expect.poll(() => count('deployments'), { timeout: 60_000 }).toBe(FORKS * SERVICES.length);
  const elapsedMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  const writes = (await metric(controller, 'kubefork_api_writes_total')) - writesBefore;
  expect(await count('services')).toBe(FORKS * SERVICES.length);
  expect(await count('vsconfigs')).toBe(FORKS * SERVICES.length);
  expect((await api.list('virtualservices', 'web', 'kubefork.dev/fork')).length).toBe(FORKS);

  // A resync reconciles every Fork again; nothing differs, so nothing may be written.
  const reconcilesBefore = await metric(controller, 'kubefork_fork_reconcile_total');
  const writesAfter = await metric(controller, 'kubefork_api_writes_total');
  await new Promise((resolve) => setTimeout(resolve, (RESYNC_SECONDS + 3) * 1000));
  const resyncReconciles =
    (await metric(controller, 'kubefork_fork_reconcile_total')) - reconcilesBefore;
  const resyncWrites = (await metric(controller, 'kubefork_api_writes_total')) - writesAfter;
  expect(resyncReconciles).toBeGreaterThanOrEqual(FORKS);
  expect(resyncWrites).toBe(0);

  const objects = FORKS * SERVICES.length * 3 + FORKS;
  const text = await (await fetch(`http://127.0.0.1:${controller.metricsPort}/metrics`)).text();
  const breakdown = text
    .split('\n')
    .filter((line) => line.startsWith('kubefork_api_writes_total{'))
    .map((line) => line.replace('kubefork_api_writes_total', ''))
    .join(', ');
  console.info(
    [
      '',
      `| ${FORKS} Forks × ${SERVICES.length} services | |`,
      '|---|---|',
      `| objects written (copies, Services, VSConfigs, previews) | ${objects} |`,
      `| time from first create to all Ready and copied | ${(elapsedMs / 1000).toFixed(1)} s |`,
      `| API writes (applies, status patches, events) | ${writes} |`,
      `| CPU of the test process (controller + test client) | ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms |`,
      `| resync: reconciles / writes | ${resyncReconciles} / ${resyncWrites} |`,
      `| writes by resource and verb | ${breakdown} |`,
      '',
    ].join('\n'),
  );
}, 420_000);
