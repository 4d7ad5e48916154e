// Where the control plane comes from: ../build.sh builds it once from released Go modules and
// caches it by version (see that script); KUBEFORK_CLUSTER_DIR points at a ready directory.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ControlPlaneFiles {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  /** Istio's generated CRDs (all of them, untrimmed), from the pinned Go module istio.io/api. */
  istioCrds: string;
}

let cached: ControlPlaneFiles | undefined;

export function controlPlaneFiles(): ControlPlaneFiles {
  if (cached) return cached;
  let dir = process.env.KUBEFORK_CLUSTER_DIR;
  if (!dir) {
    const script = fileURLToPath(new URL('../build.sh', import.meta.url));
    try {
      dir = execFileSync('bash', [script], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }).trim();
    } catch (error) {
      throw new Error(
        `could not build the control plane with ${script} (needs Go and the Go module proxy; ` +
          `run it by hand to see why): ${(error as Error).message}`,
      );
    }
  }
  const files: ControlPlaneFiles = {
    etcd: join(dir, 'bin', 'etcd'),
    kubeApiserver: join(dir, 'bin', 'kube-apiserver'),
    kubeControllerManager: join(dir, 'bin', 'kube-controller-manager'),
    istioCrds: join(dir, 'crds', 'istio.yaml'),
  };
  for (const file of Object.values(files)) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run test/cluster/build.sh`);
  }
  cached = files;
  return files;
}
