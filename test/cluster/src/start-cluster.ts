// startCluster(): etcd + kube-apiserver + kube-controller-manager on free loopback ports, data in
// a temporary directory, RBAC on. The binaries are the real ones, built from released Go modules
// by ../build.sh. No kubelet: the controller manager creates ReplicaSets and Pods, which never run.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ApiClient } from './api.js';
import { controlPlaneFiles } from './binaries.js';
import { freePort } from './free-port.js';
import { writeKubeconfig } from './kubeconfig.js';
import { createPki, type Pki } from './pki.js';
import { ControlPlaneProcess, Reaper } from './processes.js';
import { type KubeObject, Resources, readManifests } from './resources.js';

/** The controllers of kube-controller-manager the tests rely on (pods never run: no kubelet). */
export const CONTROLLERS = [
  'garbage-collector-controller',
  'deployment-controller',
  'replicaset-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'namespace-controller',
] as const;

/** packages/controller/deploy: the manifests `kubectl apply -k` installs. */
export const DEPLOY_DIR = fileURLToPath(
  new URL('../../../packages/controller/deploy/', import.meta.url),
);

/** Every file of packages/controller/deploy that defines a CRD (kubefork's own CRDs). */
export function kubeforkCrdFiles(): string[] {
  return readdirSync(DEPLOY_DIR)
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => join(DEPLOY_DIR, name))
    .filter((file) => readManifests(file).some((o) => o.kind === 'CustomResourceDefinition'));
}

export interface TestUser {
  name: string;
  groups?: string[];
}

export interface StartClusterOptions {
  /** CRD files installed (and waited for) before startCluster resolves. Default: kubefork's + Istio's. */
  crds?: string[];
  /** Users with a static token besides the admin, e.g. for admission or RBAC tests. */
  users?: TestUser[];
  /** Start kube-controller-manager. Default true. */
  controllerManager?: boolean;
  /** Keep the data directory after stop (for debugging). Default false. */
  keepData?: boolean;
}

export interface TestCluster {
  /** Path of an admin kubeconfig (user `kubefork-admin`, group `system:masters`). */
  kubeconfig: string;
  /** `https://127.0.0.1:<port>` */
  server: string;
  /** The CA that signed the API server's certificate. */
  caFile: string;
  /** The API server's serving certificate and key (valid for 127.0.0.1 and localhost). */
  servingCertFile: string;
  servingKeyFile: string;
  /** The cluster's working directory (logs: etcd.log, kube-apiserver.log, …). */
  dir: string;
  /** A JSON client acting as the admin. */
  admin: ApiClient;
  /** Server-side apply of manifests as the admin (a file path or YAML text). */
  apply(manifests: string | KubeObject[], manager?: string): Promise<KubeObject[]>;
  /** REST paths of kinds, through discovery. */
  resources: Resources;
  /** Installs CRDs and waits until they are Established. */
  installCrds(files: string[]): Promise<void>;
  /** Creates the namespace if it is missing. */
  ensureNamespace(name: string): Promise<void>;
  /** A real token of a ServiceAccount (TokenRequest, valid for a day). */
  serviceAccountToken(namespace: string, name: string): Promise<string>;
  /** A kubeconfig that authenticates as a ServiceAccount with a real token (TokenRequest). */
  serviceAccountKubeconfig(namespace: string, name: string): Promise<string>;
  /** A kubeconfig for one of `options.users`. */
  userKubeconfig(name: string): string;
  /** The bearer token of one of `options.users` (or `admin`). */
  token(name: string): string;
  /** Stops kube-apiserver (SIGKILL when `crash`), starts it again on the same port, waits for /readyz. */
  restartApiServer(options?: { crash?: boolean; downMs?: number }): Promise<void>;
  /** Stops everything and removes the data; no process stays behind. */
  stop(): Promise<void>;
  /** Process ids of the running control plane (for tests of the harness). */
  pids(): number[];
}

const ISSUER = 'https://kubernetes.default.svc.cluster.local';

export async function startCluster(options: StartClusterOptions = {}): Promise<TestCluster> {
  const files = controlPlaneFiles();
  const {
    crds = [...kubeforkCrdFiles(), files.istioCrds],
    users = [],
    controllerManager = true,
    keepData = false,
  } = options;
  const dir = mkdtempSync(join(tmpdir(), 'kubefork-cluster-'));
  const reaper = new Reaper();
  const processes: ControlPlaneProcess[] = [];
  let apiserver: ControlPlaneProcess | undefined;
  let admin: ApiClient | undefined;

  const stop = async () => {
    admin?.close();
    // The controller manager first (it would log errors while the API server goes), etcd last.
    for (const process of [...processes].reverse()) await process.stop();
    reaper.close();
    if (!keepData) rmSync(dir, { recursive: true, force: true });
  };

  try {
    const pki: Pki = createPki(dir);
    const tokens = new Map<string, string>();
    const newToken = () => randomBytes(24).toString('hex');
    tokens.set('admin', newToken());
    tokens.set('system:kube-controller-manager', newToken());
    const tokenLines = [
      `${tokens.get('admin')},kubefork-admin,kubefork-admin,"system:masters"`,
      `${tokens.get('system:kube-controller-manager')},system:kube-controller-manager,kcm`,
    ];
    for (const user of users) {
      if (tokens.has(user.name))
        throw new TypeError(`startCluster: user "${user.name}" is given twice`);
      const token = newToken();
      tokens.set(user.name, token);
      const groups = user.groups?.length ? `,"${user.groups.join(',')}"` : '';
      tokenLines.push(`${token},${user.name},${user.name}${groups}`);
    }
    writeFileSync(join(dir, 'tokens.csv'), `${tokenLines.join('\n')}\n`, { mode: 0o600 });

    const etcdClient = await freePort();
    const etcdPeer = await freePort();
    const apiPort = await freePort();
    const server = `https://127.0.0.1:${apiPort}`;
    mkdirSync(join(dir, 'etcd'), { mode: 0o700 });

    const etcd = ControlPlaneProcess.start(
      'etcd',
      files.etcd,
      [
        '--name=default',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
        // A test cluster's data is thrown away: fsync only costs time on a shared disk.
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      { dir, reaper },
    );
    processes.push(etcd);

    const apiserverArgs = [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      `--service-account-issuer=${ISSUER}`,
      `--service-account-key-file=${pki.serviceAccountPublicKey}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      // The `kubernetes` Service's endpoints may not point at loopback; nothing here needs them.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      '--v=1',
    ];
    const startApiserver = () => {
      apiserver = ControlPlaneProcess.start('kube-apiserver', files.kubeApiserver, apiserverArgs, {
        dir,
        reaper,
      });
      return apiserver;
    };
    processes.push(startApiserver());

    admin = new ApiClient(server, pki.caCert, tokens.get('admin')!);
    await waitReady(admin, () => apiserver!, 90_000);

    const kubeconfig = writeKubeconfig(join(dir, 'admin.kubeconfig'), {
      server,
      caFile: pki.caCert,
      user: 'kubefork-admin',
      token: tokens.get('admin')!,
    });

    if (controllerManager) {
      const kcmConfig = writeKubeconfig(join(dir, 'kcm.kubeconfig'), {
        server,
        caFile: pki.caCert,
        user: 'system:kube-controller-manager',
        token: tokens.get('system:kube-controller-manager')!,
      });
      processes.push(
        ControlPlaneProcess.start(
          'kube-controller-manager',
          files.kubeControllerManager,
          [
            `--kubeconfig=${kcmConfig}`,
            `--controllers=${CONTROLLERS.join(',')}`,
            '--use-service-account-credentials=true',
            `--service-account-private-key-file=${pki.serviceAccountKey}`,
            `--root-ca-file=${pki.caCert}`,
            '--leader-elect=false',
            '--secure-port=0',
            // Tests wait on the garbage collector and the deployment controller: sync quickly.
            '--concurrent-gc-syncs=5',
            '--v=1',
          ],
          { dir, reaper },
        ),
      );
    }

    const client = admin;
    const resources = new Resources(client);

    const installCrds = async (paths: string[]) => {
      const objects = paths
        .flatMap((path) => readManifests(path))
        .filter((object) => object.kind === 'CustomResourceDefinition');
      for (const crd of objects) {
        await client.request(
          'PATCH',
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}?fieldManager=kubefork-test&force=true`,
          { body: crd, contentType: 'application/apply-patch+yaml' },
        );
      }
      for (const crd of objects) await waitEstablished(client, crd.metadata.name);
    };

    const ensureNamespace = async (name: string) => {
      const { status } = await client.request('POST', '/api/v1/namespaces', {
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
        allowError: true,
      });
      if (status !== 201 && status !== 409)
        throw new Error(`creating namespace ${name}: ${status}`);
    };

    if (crds.length > 0) await installCrds(crds);
    if (controllerManager) await waitForDefaultServiceAccount(client, processes.at(-1)!);

    const serviceAccountToken = async (namespace: string, name: string) => {
      const { body } = await client.request<{ status: { token: string } }>(
        'POST',
        `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
        {
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenRequest',
            spec: { expirationSeconds: 86_400 },
          },
        },
      );
      return body.status.token;
    };

    let accounts = 0;
    return {
      kubeconfig,
      server,
      caFile: pki.caCert,
      servingCertFile: pki.servingCert,
      servingKeyFile: pki.servingKey,
      dir,
      admin: client,
      resources,
      apply: (manifests, manager) =>
        resources.apply(
          typeof manifests === 'string' ? readManifests(manifests) : manifests,
          manager,
        ),
      installCrds,
      ensureNamespace,
      serviceAccountToken,
      async serviceAccountKubeconfig(namespace, name) {
        const token = await serviceAccountToken(namespace, name);
        return writeKubeconfig(join(dir, `sa-${++accounts}-${namespace}-${name}.kubeconfig`), {
          server,
          caFile: pki.caCert,
          user: `system:serviceaccount:${namespace}:${name}`,
          token,
          namespace,
        });
      },
      userKubeconfig(name) {
        const token = tokens.get(name);
        if (!token || name === 'system:kube-controller-manager') {
          throw new TypeError(`startCluster: no user "${name}"; pass it in options.users`);
        }
        return writeKubeconfig(join(dir, `user-${name}.kubeconfig`), {
          server,
          caFile: pki.caCert,
          user: name,
          token,
        });
      },
      token(name) {
        const token = tokens.get(name);
        if (!token) throw new TypeError(`startCluster: no user "${name}"`);
        return token;
      },
      async restartApiServer({ crash = false, downMs = 0 } = {}) {
        const old = apiserver!;
        if (crash) await old.kill();
        else await old.stop();
        processes.splice(processes.indexOf(old), 1);
        if (downMs > 0) await sleep(downMs);
        processes.splice(1, 0, startApiserver());
        await waitReady(client, () => apiserver!, 90_000);
      },
      stop,
      pids: () => processes.flatMap((p) => (p.running && p.pid !== undefined ? [p.pid] : [])),
    };
  } catch (error) {
    const logs = processes.map((p) => `--- ${p.name} (${p.logFile})\n${p.tail()}`).join('\n');
    await stop().catch(() => {});
    throw new Error(`${(error as Error).message}\n${logs}`, { cause: error });
  }
}

async function waitReady(
  api: ApiClient,
  apiserver: () => ControlPlaneProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (!apiserver().running) {
      throw new Error(`kube-apiserver exited:\n${apiserver().tail()}`);
    }
    try {
      const { status, body } = await api.request('GET', '/readyz', { allowError: true });
      if (status === 200) return;
      last = `${status} ${String(body).slice(0, 500)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`kube-apiserver was not ready within ${timeoutMs} ms (last: ${last})`);
}

async function waitEstablished(api: ApiClient, name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { body } = await api.request<{
      status?: { conditions?: { type: string; status: string }[] };
    }>('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    if (body.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) {
      return;
    }
    await sleep(100);
  }
  throw new Error(`CRD ${name} was not Established within 30 s`);
}

/** The serviceaccount controller has run once the `default` namespace has its ServiceAccount. */
async function waitForDefaultServiceAccount(
  api: ApiClient,
  kcm: ControlPlaneProcess,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (!kcm.running) throw new Error(`kube-controller-manager exited:\n${kcm.tail()}`);
    const { status } = await api.request(
      'GET',
      '/api/v1/namespaces/default/serviceaccounts/default',
      {
        allowError: true,
      },
    );
    if (status === 200) return;
    await sleep(200);
  }
  throw new Error('kube-controller-manager did not create the default ServiceAccount within 60 s');
}
