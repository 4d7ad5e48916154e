// The kubefork controller at scale on a real control plane (etcd + kube-apiserver from
// @kubefork/test-cluster, Istio's and kubefork's real CRDs), next to the fake API server in the
// same process run.
//
// The scenario is controller.bench.ts's (controller/measure.ts): the built CLI in its own process,
// 10,000 VSConfigs over 1,000 hosts → converged, no-op resync, one change → VirtualService
// updated (median), graceful stop, restart. It runs first against the fake API server, then
// against the real one, at the same scale; the last table divides real by fake.
//
// On the real server the controller authenticates as the ServiceAccount of
// packages/controller/deploy/rbac.yaml and goes through the recording proxy of
// @kubefork/test-cluster (which counts its writes); seeding (concurrent POSTs as the admin) is
// timed on its own and not counted as the controller's. Convergence is seen through two raw
// watches, never by polling the API server.
//
//   pnpm bench controller                       # both controller benchmarks (builds first)
//   BENCH_HOSTS=300 pnpm bench controller-cluster   # 3,000 VSConfigs
//   BENCH_QUICK=1 pnpm bench controller-cluster     # smoke run (about a minute)
//
// Needs the control plane of test/cluster/build.sh (Go; cached after the first build). Same
// variables as controller.bench.ts (controller/options.ts).

import type { ControllerBackend } from './controller/backend.js';
import { startClusterBackend } from './controller/cluster-backend.js';
import { startFakeBackend } from './controller/fake-backend.js';
import { type ControllerFigures, measureController } from './controller/measure.js';
import { controllerBenchOptions } from './controller/options.js';
import { controllerTable, noOpFailures, sideBySideTable } from './controller/report.js';

const options = controllerBenchOptions();

async function measureOn(start: () => Promise<ControllerBackend>): Promise<ControllerFigures> {
  const backend = await start();
  try {
    return await measureController(backend, options);
  } finally {
    await backend.close();
  }
}

const fake = await measureOn(() => startFakeBackend(options));
const real = await measureOn(() => startClusterBackend(options));

console.log(
  controllerTable(
    `kubefork controller: ${real.backend} (etcd, real CRDs, RBAC), controller as its own process through the recording proxy`,
    real,
  ),
);
console.log('');
console.log(
  controllerTable('kubefork controller: fake API server, same process run, same scale', fake),
);
console.log('');
console.log(sideBySideTable(fake, real));

const failures = [...noOpFailures(fake), ...noOpFailures(real)];
if (failures.length > 0) {
  console.error(`benchmark: ${failures.join('; ')}`);
  process.exitCode = 1;
}
