// Where the controller finds its cluster, in kubectl's order: $KUBECONFIG, ~/.kube/config, then
// the in-cluster service account. Unlike KubeConfig.loadFromDefault, finding nothing is an error
// (loadFromDefault silently falls back to http://localhost:8080).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Loads the kubeconfig from `KUBECONFIG` (one or more files), `~/.kube/config`, or the pod's
 * service account, and throws an `Error` saying what was tried when there is none.
 *
 * @example
 * const kubeConfig = loadKubeConfig();
 * kubeConfig.getCurrentCluster()?.server; // → 'https://10.96.0.1:443'
 */
export function loadKubeConfig(): KubeConfig {
  const env = process.env;
  const kubeConfig = new KubeConfig();
  const home = join(homedir(), '.kube', 'config');
  if (env.KUBECONFIG) {
    // Several files separated by ':' are merged, as kubectl does.
    kubeConfig.loadFromDefault();
  } else if (existsSync(home)) {
    kubeConfig.loadFromFile(home);
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync(join(SERVICE_ACCOUNT_DIR, 'token'))) {
    kubeConfig.loadFromCluster();
  } else {
    throw new Error(
      'kubefork: no cluster configuration found: set KUBECONFIG, create ~/.kube/config, or run in a pod with a service account',
    );
  }
  if (!kubeConfig.getCurrentCluster()) {
    throw new Error('kubefork: the kubeconfig has no current context with a cluster');
  }
  return kubeConfig;
}

/** The namespace this pod runs in (for the Lease), when it runs in a cluster. */
export function ownNamespace(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  try {
    return readFileSync(join(SERVICE_ACCOUNT_DIR, 'namespace'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
