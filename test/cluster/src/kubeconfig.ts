import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

/** Writes a kubeconfig with one cluster, one user (a bearer token) and one current context. */
export function writeKubeconfig(
  file: string,
  options: { server: string; caFile: string; user: string; token: string; namespace?: string },
): string {
  const { server, caFile, user, token, namespace } = options;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'kubefork-test', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: user, user: { token } }],
    contexts: [
      {
        name: user,
        context: { cluster: 'kubefork-test', user, ...(namespace ? { namespace } : {}) },
      },
    ],
    'current-context': user,
  };
  writeFileSync(file, stringify(config), { mode: 0o600 });
  return file;
}
