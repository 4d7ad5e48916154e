// A real kube-apiserver (and etcd) from @kubefork/test-cluster. The controller runs as the
// ServiceAccount that packages/controller/deploy/rbac.yaml binds and reaches the API server through
// the recording proxy, which counts its writes. Seeding, watching and changes go as the admin
// straight to the API server, so the proxy sees only the controller.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { controlPlaneFiles, DEPLOY_DIR, startApiProxy, startCluster } from '@kubefork/test-cluster';
import type { ControllerBackend } from './backend.js';
import {
  type ControllerBenchOptions,
  hostsOf,
  routesPerHost,
  serviceOf,
  vsconfigOf,
} from './options.js';

const VSC = '/apis/kubefork.dev/v1beta1';
const ISTIO = '/apis/networking.istio.io/v1beta1';
/** Requests in flight while seeding: enough to keep both cores busy, far below the server's limit. */
const SEED_CONCURRENCY = 24;

interface WatchEvent {
  type: string;
  object: {
    metadata: { name: string; namespace: string; resourceVersion?: string; generation?: number };
    spec?: { http?: { name?: string }[] };
    status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] };
  };
}

export async function startClusterBackend(
  options: ControllerBenchOptions,
): Promise<ControllerBackend> {
  const cluster = await startCluster({ controllerManager: false });
  const closers: (() => unknown)[] = [() => cluster.stop()];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  try {
    const ca = readFileSync(cluster.caFile);
    const adminToken = cluster.token('admin');
    const agent = new Agent({ ca, keepAlive: true, maxSockets: SEED_CONCURRENCY });
    const watchAgent = new Agent({ ca, keepAlive: false });
    closers.push(
      () => agent.destroy(),
      () => watchAgent.destroy(),
    );

    /** One JSON request as the admin; retries what a busy server may answer (429, 5xx, resets). */
    const request = async (method: string, path: string, body?: unknown, type?: string) => {
      for (let attempt = 1; ; attempt += 1) {
        let answer: { status: number; text: string } | undefined;
        try {
          answer = await send(method, path, body, type);
        } catch (error) {
          // The connection failed (reset under load): try again, a few times.
          if (attempt >= 5) throw error;
        }
        if (answer) {
          const { status, text } = answer;
          if (status >= 200 && status < 300) return JSON.parse(text) as unknown;
          // A create retried after a reset may have gone through the first time.
          if (status === 409 && method === 'POST' && attempt > 1) return undefined;
          if ((status !== 429 && status < 500) || attempt >= 5)
            throw new Error(`${method} ${path}: ${status} ${text}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    };
    const send = (method: string, path: string, body?: unknown, type = 'application/json') =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = httpsRequest(
          new URL(path, cluster.server),
          {
            method,
            agent,
            headers: {
              authorization: `Bearer ${adminToken}`,
              accept: 'application/json',
              ...(payload === undefined ? {} : { 'content-type': type }),
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              text += chunk;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(payload);
      });

    /**
     * A raw watch (one streaming request, no polling) from the current state on: every existing
     * object arrives as ADDED first. Reconnects from the last resourceVersion if the server ends it.
     */
    const watch = (path: string, onEvent: (event: WatchEvent) => void) => {
      let resourceVersion: string | undefined;
      let stopped = false;
      let current: ReturnType<typeof httpsRequest> | undefined;
      const retry = () => {
        if (!stopped) setTimeout(connect, 200);
      };
      const connect = () => {
        const query = `watch=1&allowWatchBookmarks=true&timeoutSeconds=3600${resourceVersion ? `&resourceVersion=${resourceVersion}` : ''}`;
        current = httpsRequest(
          new URL(`${path}?${query}`, cluster.server),
          {
            agent: watchAgent,
            headers: { authorization: `Bearer ${adminToken}`, accept: 'application/json' },
          },
          (res) => {
            if (res.statusCode !== 200) {
              if (res.statusCode === 410) resourceVersion = undefined;
              res.resume();
              res.on('end', retry);
              return;
            }
            let buffer = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              buffer += chunk;
              for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
                const line = buffer.slice(0, end);
                buffer = buffer.slice(end + 1);
                if (!line.trim()) continue;
                const event = JSON.parse(line) as WatchEvent;
                if (event.type === 'ERROR') {
                  // 410 Gone: start again from the current state (ADDED for everything).
                  resourceVersion = undefined;
                  continue;
                }
                resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
                if (event.type !== 'BOOKMARK') onEvent(event);
              }
            });
            res.on('end', retry);
            res.on('error', () => {});
          },
        );
        current.on('error', retry);
        current.end();
      };
      connect();
      return () => {
        stopped = true;
        current?.destroy();
      };
    };

    // The controller's identity and permissions, exactly as shipped.
    await cluster.apply(join(DEPLOY_DIR, 'namespace.yaml'));
    await cluster.apply(join(DEPLOY_DIR, 'rbac.yaml'));
    const token = await cluster.serviceAccountToken('kubefork-system', 'kubefork-controller');
    const proxy = await startApiProxy({
      server: cluster.server,
      caFile: cluster.caFile,
      certFile: cluster.servingCertFile,
      keyFile: cluster.servingKeyFile,
      users: { controller: token },
    });
    closers.push(() => proxy.close());
    const kubeconfig = proxy.kubeconfig(join(cluster.dir, 'controller.kubeconfig'), token);
    // Built from the module, the binary reports v0.0.0-master; the cache directory names the release.
    const version =
      /\/(v\d+\.\d+\.\d+)-[0-9a-f]+\/bin\//.exec(controlPlaneFiles().kubeApiserver)?.[1] ??
      ((await request('GET', '/version')) as { gitVersion: string }).gitVersion;

    // --- seed: Services, then VSConfigs, SEED_CONCURRENCY requests in flight ---
    const hosts = hostsOf(options);
    const seedStarted = performance.now();
    for (let n = 0; n < options.namespaces; n += 1) await cluster.ensureNamespace(`team-${n}`);
    const services: [string, string][] = [];
    const vsconfigs: [string, number, string][] = [];
    for (const { namespace, host } of hosts) {
      services.push([namespace, host]);
      for (let f = 0; f < options.forks; f += 1) {
        services.push([namespace, `${host}-dev${f}`]);
        vsconfigs.push([namespace, f, host]);
      }
    }
    await pool(services, SEED_CONCURRENCY, ([namespace, name]) =>
      request('POST', `/api/v1/namespaces/${namespace}/services`, serviceOf(namespace, name)),
    );
    await pool(vsconfigs, SEED_CONCURRENCY, ([namespace, fork, host]) =>
      request(
        'POST',
        `${VSC}/namespaces/${namespace}/vsconfigs`,
        vsconfigOf(namespace, host, fork),
      ),
    );
    const seedMs = performance.now() - seedStarted;

    // --- convergence and changes, through two cluster-wide watches ---
    const routes = routesPerHost(options);
    const vsDone = new Set<string>();
    const vscReady = new Set<string>();
    const waiters = new Map<string, (routeNames: string[]) => void>();
    let onProgress = () => {};
    closers.push(
      watch(`${ISTIO}/virtualservices`, ({ type, object }) => {
        const key = `${object.metadata.namespace}/${object.metadata.name}`;
        const http = object.spec?.http ?? [];
        if (type !== 'DELETED' && http.length === routes) vsDone.add(key);
        else vsDone.delete(key);
        waiters.get(key)?.(http.map((route) => route.name ?? ''));
        onProgress();
      }),
      watch(`${VSC}/vsconfigs`, ({ type, object }) => {
        const key = `${object.metadata.namespace}/${object.metadata.name}`;
        const status = object.status;
        const ready = status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        if (
          type !== 'DELETED' &&
          ready &&
          status?.observedGeneration === object.metadata.generation
        )
          vscReady.add(key);
        else vscReady.delete(key);
        onProgress();
      }),
    );
    const isConverged = () =>
      vsDone.size === options.hosts && vscReady.size === options.hosts * options.forks;

    const pids = cluster.pids();
    const ticks = clockTicks();

    return {
      name: `kube-apiserver ${version}`,
      kubeconfig,
      seedMs,
      cpuLabel: 'kube-apiserver + etcd processes (/proc)',
      serverCpuSeconds: () => pids.reduce((sum, pid) => sum + processCpuTicks(pid), 0) / ticks,
      writes: () => proxy.writes((r) => r.user === 'controller'),
      converged(timeoutMs = 1_800_000) {
        if (isConverged()) return Promise.resolve();
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('benchmark: timed out')), timeoutMs);
          onProgress = () => {
            if (!isConverged()) return;
            clearTimeout(timer);
            onProgress = () => {};
            resolve();
          };
        });
      },
      async change(namespace, name, host, value) {
        const key = `${namespace}/${host}`;
        const applied = new Promise<number>((resolve) => {
          waiters.set(key, (routeNames) => {
            if (!routeNames.includes(`kubefork-${value}`)) return;
            waiters.delete(key);
            resolve(performance.now());
          });
        });
        const changedAt = performance.now();
        await request(
          'PATCH',
          `${VSC}/namespaces/${namespace}/vsconfigs/${name}`,
          { spec: { headerValue: value } },
          'application/merge-patch+json',
        );
        return (await applied) - changedAt;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

async function pool<T>(items: T[], limit: number, run: (item: T) => Promise<unknown>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
function processCpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}
