// Starts a cluster, prints its process ids and waits to be killed (by the harness test).
import { startCluster } from '../../dist/index.js';

const cluster = await startCluster({ crds: [], controllerManager: false });
process.stdout.write(`pids ${cluster.pids().join(',')}\n`);
setInterval(() => {}, 60_000);
