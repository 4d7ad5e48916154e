// `pnpm demo:cluster`: kubefork on a real Kubernetes control plane, step by step. Starts etcd,
// kube-apiserver and kube-controller-manager on loopback (@kubefork/test-cluster), installs the
// kubefork and Istio CRDs, runs the kubefork controller, applies the shop of examples/fork-mesh,
// then runs the real `kubefork` bin: `kubefork fork b e --id alice …`, `kubefork status`,
// `kubefork rm alice --wait`, and prints what each step made or removed.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Controller, startController } from '@kubefork/controller';
import {
  DEPLOY_DIR,
  type KubeObject,
  readManifests,
  startCluster,
  type TestCluster,
} from '@kubefork/test-cluster';
import { KubeConfig } from '@kubernetes/client-node';

const NAMESPACE = 'fork-mesh';
const PREVIEW = {
  domain: 'preview.shop.example',
  gateway: 'istio-system/shop',
  entry: `${NAMESPACE}/a`,
};
const SHOP = fileURLToPath(new URL('../../fork-mesh/k8s/services.yaml', import.meta.url));
const require = createRequire(import.meta.url);
const KUBEFORK = join(
  dirname(require.resolve('@kubefork/cli/package.json')),
  (require('@kubefork/cli/package.json') as { bin: { kubefork: string } }).bin.kubefork,
);

let stepNumber = 0;
function step(title: string): void {
  stepNumber += 1;
  process.stdout.write(`\n== ${stepNumber}. ${title}\n`);
}

function say(text: string): void {
  process.stdout.write(`${text.replace(/^/gm, '   ')}\n`);
}

/** Runs the real `kubefork` bin and shows its command line and output; fails the demo on exit ≠ 0. */
function kubefork(args: string[], kubeconfig: string): Promise<void> {
  process.stdout.write(`\n   $ kubefork ${args.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [KUBEFORK, ...args],
      { env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: 180_000 },
      (error, stdout, stderr) => {
        if (stdout) say(stdout.trimEnd());
        if (stderr) say(stderr.trimEnd());
        if (error) reject(new Error(`kubefork ${args.join(' ')} failed: ${error.message}`));
        else resolve();
      },
    );
  });
}

interface Item {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}

async function list(cluster: TestCluster, path: string): Promise<Item[]> {
  const { body } = await cluster.admin.request<{ items: Item[] }>('GET', path);
  return body.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

const paths = {
  deployments: `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`,
  services: `/api/v1/namespaces/${NAMESPACE}/services`,
  vsconfigs: `/apis/kubefork.dev/v1beta1/namespaces/${NAMESPACE}/vsconfigs`,
  virtualservices: '/apis/networking.istio.io/v1/virtualservices',
  pods: `/api/v1/namespaces/${NAMESPACE}/pods`,
};

function image(deployment: Item): string {
  const template = deployment.spec?.template as { spec?: { containers?: { image?: string }[] } };
  return template?.spec?.containers?.map((c) => c.image).join(',') ?? '';
}

async function showDeployments(cluster: TestCluster): Promise<void> {
  for (const d of await list(cluster, paths.deployments)) {
    const fork = d.metadata.labels?.['kubefork.dev/fork'];
    say(
      `deployment ${d.metadata.name.padEnd(9)} image ${image(d)}${fork ? `   (alice's copy, fork ${fork})` : ''}`,
    );
  }
}

async function showServices(cluster: TestCluster): Promise<void> {
  for (const s of await list(cluster, paths.services)) {
    say(`service    ${s.metadata.name.padEnd(9)} selector ${JSON.stringify(s.spec?.selector)}`);
  }
}

async function showVSConfigs(cluster: TestCluster): Promise<void> {
  const items = await list(cluster, paths.vsconfigs);
  if (items.length === 0) say('(no VSConfigs)');
  for (const v of items) {
    const {
      headerName = 'x-fork-identifier',
      headerValue,
      host,
      service,
    } = v.spec as Record<string, string>;
    say(
      `vsconfig   ${v.metadata.name.padEnd(9)} ${headerName}: ${headerValue} → host ${host} goes to ${service}`,
    );
  }
}

interface Route {
  name?: string;
  match?: { headers?: Record<string, Record<string, string>> }[];
  route?: { destination: { host: string } }[];
  headers?: { request?: { set?: Record<string, string> } };
}

async function showVirtualServices(cluster: TestCluster): Promise<void> {
  const items = await list(cluster, paths.virtualservices);
  if (items.length === 0) say('(no VirtualServices)');
  for (const vs of items) {
    const spec = vs.spec as { hosts: string[]; gateways?: string[]; http: Route[] };
    say(
      `virtualservice ${vs.metadata.namespace}/${vs.metadata.name}  hosts ${spec.hosts.join(',')}${spec.gateways ? `  gateways ${spec.gateways.join(',')}` : ''}`,
    );
    for (const route of spec.http) {
      // Fork routes match with anchored regexes (the SDK's rules, see the controller README):
      // name the route and the headers it reads rather than print the regex.
      const match = route.match?.[0]?.headers;
      const when = match
        ? `${route.name ?? 'route'}: ${Object.entries(match)
            .map(([name, m]) =>
              m.exact === undefined ? `${name} ~ fork id` : `${name} = ${m.exact}`,
            )
            .join(', ')}`
        : 'otherwise';
      const set = route.headers?.request?.set;
      const also = set
        ? `, setting ${Object.entries(set)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', ')}`
        : '';
      say(`  ${when.padEnd(60)} → ${route.route?.map((r) => r.destination.host).join(',')}${also}`);
    }
  }
}

async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function main(): Promise<void> {
  step(
    'Start a Kubernetes control plane on 127.0.0.1 (etcd, kube-apiserver, kube-controller-manager)',
  );
  say('There is no kubelet here: Deployments get ReplicaSets and Pods, but the Pods never run.');
  const started = Date.now();
  const cluster = await startCluster();
  let controller: Controller | undefined;
  try {
    say(`API server ${cluster.server}, ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    say(
      "installed CRDs: forks.kubefork.dev, vsconfigs.kubefork.dev, and Istio's (virtualservices.networking.istio.io, …)",
    );

    step(
      'Install kubefork (packages/controller/deploy: namespace, RBAC, admission policy) and run the controller',
    );
    for (const file of ['namespace.yaml', 'rbac.yaml', 'fork-admission.yaml']) {
      await cluster.apply(readManifests(join(DEPLOY_DIR, file)));
    }
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(
      await cluster.serviceAccountKubeconfig('kubefork-system', 'kubefork-controller'),
    );
    controller = await startController({
      kubeConfig,
      metricsPort: 0,
      metricsHost: '127.0.0.1',
      processMetrics: false,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      preview: PREVIEW,
    });
    await until('the controller', async () => controller!.isReady());
    say(
      `kubefork controller running as system:serviceaccount:kubefork-system:kubefork-controller, preview domain ${PREVIEW.domain}`,
    );

    step(
      `Apply the shop (examples/fork-mesh/k8s/services.yaml): A → B → C → E in namespace ${NAMESPACE}`,
    );
    await cluster.ensureNamespace(NAMESPACE);
    await cluster.apply(
      readManifests(SHOP).filter(
        (o: KubeObject) => o.kind === 'Deployment' || o.kind === 'Service',
      ),
    );
    await showDeployments(cluster);
    await showServices(cluster);

    step('Alice forks B (with her image) and E');
    await kubefork(
      ['fork', 'b', 'e', '--id', 'alice', '--image', 'b=kubefork-fork-mesh:alice', '-n', NAMESPACE],
      cluster.kubeconfig,
    );
    await until('the VirtualServices of b and e', async () => {
      const items = await list(cluster, paths.virtualservices);
      return items.length === 3;
    });

    step('The copies: a Deployment and a Service per forked service, owned by the Fork');
    await showDeployments(cluster);
    await showServices(cluster);
    say(
      "The copies' pods carry kubefork.dev/fork=alice instead of app=b/e, so the shared Services never select them.",
    );
    const pods = await list(cluster, paths.pods);
    say(
      `pods: ${pods.length} created by kube-controller-manager (${pods.map((p) => p.metadata.name.replace(/-[a-z0-9]+-[a-z0-9]+$/, '')).join(', ')}), none running: no kubelet`,
    );

    step('The VSConfigs: one per copy, written by the controller');
    await showVSConfigs(cluster);

    step("The VirtualServices: alice's routes first, then the shared default; and alice's preview");
    await showVirtualServices(cluster);

    step('What the CLI reports');
    await kubefork(['status', 'alice', '-n', NAMESPACE], cluster.kubeconfig);
    await kubefork(['ls', '-A'], cluster.kubeconfig);
    say(
      "Send the header and the mesh routes to alice's copies:  curl -H 'x-fork-identifier: alice' http://a." +
        NAMESPACE +
        '/',
    );
    say(`or open the preview: https://alice.${PREVIEW.domain}/`);

    step(
      'Alice removes her Fork; the garbage collector deletes what it owned (first time: up to ~30 s)',
    );
    await kubefork(
      ['rm', 'alice', '-n', NAMESPACE, '--wait', '--timeout', '150s'],
      cluster.kubeconfig,
    );
    await until(
      'the VirtualServices to be gone',
      async () => (await list(cluster, paths.virtualservices)).length === 0,
    );
    await showDeployments(cluster);
    await showServices(cluster);
    await showVSConfigs(cluster);
    await showVirtualServices(cluster);
    say('Everything alice made is gone; the shop is as it was.');
  } finally {
    await controller?.stop();
    await cluster.stop();
  }
  process.stdout.write('\nDone: the control plane is stopped and its data removed.\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`demo:cluster failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
