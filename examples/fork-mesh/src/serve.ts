// Runs one service instance. First import: @kubefork/auto instruments node:http and fetch for
// the whole process before anything else can make a request.
import '@kubefork/auto';
import { configure } from '@kubefork/context';
import { chainRequestsServed } from './hop.js';
import { InvalidLog } from './invalid-log.js';
import { hasParent, serveParent } from './ipc.js';
import type { RunningService, ServiceOptions } from './services/service.js';
import { type ServiceName, serviceSpec } from './topology.js';

/**
 * Settings come from the environment, the same in a child process of the demo and in a
 * Kubernetes Deployment (see k8s/):
 * - `MESH_SERVICE`: a, b, c or e (which code to run)
 * - `MESH_INSTANCE`: the name of this copy, e.g. `b-alice` (default: `MESH_SERVICE`)
 * - `MESH_DOWNSTREAM`: the next service, `http://host:port` or, for B, the gRPC `host:port`
 * - `PORT` (default `0`: any free port) and `HOST` (default `127.0.0.1`)
 */
function readOptions(env: NodeJS.ProcessEnv): { service: ServiceName } & ServiceOptions {
  const service = serviceSpec(env.MESH_SERVICE ?? '').name;
  const port = Number(env.PORT ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`PORT must be a port number, got ${JSON.stringify(env.PORT)}`);
  }
  return {
    service,
    instance: env.MESH_INSTANCE || service,
    host: env.HOST || '127.0.0.1',
    port,
    downstream: env.MESH_DOWNSTREAM || undefined,
  };
}

async function startService(
  service: ServiceName,
  options: ServiceOptions,
): Promise<RunningService> {
  switch (service) {
    case 'a':
      return (await import('./services/express-a.js')).start(options);
    case 'b':
      return (await import('./services/fastify-b.js')).start(options);
    case 'c':
      return (await import('./services/grpc-c.js')).start(options);
    case 'e':
      return (await import('./services/http-e.js')).start(options);
  }
}

/** Heap in use after full collections (needs `--expose-gc`), for the memory suite. */
async function heapAfterGc(): Promise<number> {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('start the process with --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    // Let finalizers and weak callbacks run between collections.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

const options = readOptions(process.env);
const invalid = new InvalidLog();
configure({ onInvalid: invalid.record });
const running = await startService(options.service, options);

if (hasParent()) {
  serveParent(
    { kind: 'ready', ports: { [options.instance]: running.port } },
    {
      stats: () => ({ served: chainRequestsServed(), invalid: invalid.summary() }),
      heap: heapAfterGc,
    },
  );
} else {
  console.log(
    `${options.instance} (service ${options.service}) listening on ${options.host}:${running.port}`,
  );
  // In a cluster, ignored fork ids show up as one summary line every 30 s at most.
  let reported = 0;
  setInterval(() => {
    const summary = invalid.summary();
    if (summary.count === reported) return;
    reported = summary.count;
    console.warn(JSON.stringify({ event: 'kubefork.invalid-fork-ids', ...summary }));
  }, 30_000).unref();
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    running.close().finally(() => process.exit(0));
  });
}
