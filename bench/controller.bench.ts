// The kubefork controller at scale, against the fake API server of the controller's tests.
//
// The controller runs as it does in a cluster: the built CLI (`kubefork-controller run`) in its own
// process, talking HTTP to the fake API server in this process through the real client-node.
// Measured (controller/measure.ts; controller-cluster.bench.ts runs the same against a real
// kube-apiserver):
//   1. start → converged: 10,000 VSConfigs over 1,000 hosts (10 namespaces × 100 hosts × 10 forks),
//      every Service present: every host has its VirtualService (21 routes), every VSConfig is
//      Ready at its generation; API writes against the minimum (1 apply per host + 1 status per
//      VSConfig);
//   2. a periodic resync of everything, nothing changed → API writes (expected 0);
//   3. one VSConfig changed → time until its host's VirtualService has the new route (several
//      samples, one host each);
//   4. a restart with everything converged → time to a full pass and API writes (expected 0).
//
//   pnpm bench controller            # from the repository root (builds first)
//   node --import tsx controller.bench.ts   # from bench/, after `pnpm build`
//
// BENCH_HOSTS / BENCH_FORKS / BENCH_NAMESPACES / BENCH_WORKERS / BENCH_RESYNC / BENCH_CHANGES scale
// it; BENCH_QUICK=1 is a smoke run of seconds (controller/options.ts).

import { startFakeBackend } from './controller/fake-backend.js';
import { measureController } from './controller/measure.js';
import { controllerBenchOptions } from './controller/options.js';
import { controllerTable, noOpFailures } from './controller/report.js';

const options = controllerBenchOptions();
const backend = await startFakeBackend(options);
let figures: Awaited<ReturnType<typeof measureController>>;
try {
  figures = await measureController(backend, options);
} finally {
  await backend.close();
}

console.log(
  controllerTable(
    'kubefork controller: fake API server, real client-node, controller as its own process',
    figures,
  ),
);
const failures = noOpFailures(figures);
if (failures.length > 0) {
  console.error(`benchmark: ${failures.join('; ')}`);
  process.exitCode = 1;
}
