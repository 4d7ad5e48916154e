// The API calls the commands make, and the translation of API errors into messages a user can
// act on: the CRD is missing, a verb is forbidden (RBAC or the admission policy), the server
// refused the object.
import type { Fork } from '@kubefork/controller/plan';
import { CliError } from './errors.js';
import { type ApiStatus, kubeRequest, type RequestInput, type Target } from './kube.js';

/** The field manager of everything `kubefork` applies. */
export const FIELD_MANAGER = 'kubefork-cli';

/** Where the CRD and the controller come from, for the "not installed" message. */
export const INSTALL_HINT =
  'install the CRDs and the controller: kubectl apply -k packages/controller/deploy (in the kubefork repository, or node_modules/@kubefork/controller/deploy)';

const GROUP_PATH = '/apis/kubefork.dev/v1beta1';

export function forksPath(namespace: string | undefined, name?: string): string {
  const base =
    namespace === undefined ? `${GROUP_PATH}/forks` : `${GROUP_PATH}/namespaces/${namespace}/forks`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

/** What the API server said, in the words of the action (`create forks`, `get services` …). */
export function apiFailure(
  status: number,
  body: unknown,
  action: { verb: string; resource: string; namespace?: string | undefined },
): CliError {
  const info = (typeof body === 'object' && body !== null ? body : {}) as ApiStatus;
  const message = info.message ?? (typeof body === 'string' ? body.slice(0, 300) : '');
  const where = action.namespace === undefined ? '' : ` in namespace ${action.namespace}`;
  if (status === 401) {
    return new CliError(
      `the API server did not accept your credentials (401): log in again or check --context`,
    );
  }
  if (status === 403) {
    const admission = /ValidatingAdmissionPolicy|may not create (deployments|services)/.test(
      message,
    );
    const hint = admission
      ? 'the admission policy kubefork-fork-creator-rights lets only users who may create deployments and services in the namespace create or change a Fork'
      : `ask for the right to ${action.verb} ${action.resource}${where}; to create or change a Fork you also need the right to create deployments and services there (the admission policy kubefork-fork-creator-rights checks it)`;
    return new CliError(
      `forbidden: you may not ${action.verb} ${action.resource}${where}: ${message}\n${hint}`,
    );
  }
  if (status === 404 && action.resource.startsWith('forks') && !info.details?.name) {
    return new CliError(
      `the Fork resource (forks.kubefork.dev) is not installed in this cluster: ${INSTALL_HINT}`,
    );
  }
  return new CliError(`${action.verb} ${action.resource}${where} failed (${status}): ${message}`);
}

async function call<T>(
  target: Target,
  method: string,
  path: string,
  action: { verb: string; resource: string; namespace?: string | undefined },
  input: RequestInput = {},
  accept: number[] = [],
): Promise<{ status: number; body: T }> {
  const response = await kubeRequest<T>(target.kubeConfig, method, path, input);
  if ((response.status >= 200 && response.status < 300) || accept.includes(response.status)) {
    return response;
  }
  throw apiFailure(response.status, response.body, action);
}

export interface ForkList {
  items: Fork[];
}

/** The Fork `name`, or undefined when there is none (the CRD missing is an error). */
export async function getFork(target: Target, name: string): Promise<Fork | undefined> {
  const { status, body } = await call<Fork>(
    target,
    'GET',
    forksPath(target.namespace, name),
    { verb: 'get', resource: 'forks', namespace: target.namespace },
    {},
    [404],
  );
  if (status === 404) {
    const info = body as unknown as ApiStatus;
    if (!info?.details?.name) throw apiFailure(status, body, { verb: 'get', resource: 'forks' });
    return undefined;
  }
  return body;
}

/** The Fork whose fork id (or name) is `id`; a CliError naming the namespace when there is none. */
export async function findFork(target: Target, id: string, forkName: string): Promise<Fork> {
  const byName = await getFork(target, forkName);
  if (byName && (byName.spec.forkId ?? byName.metadata.name) === id) return byName;
  const all = await listForks(target, false);
  const match =
    all.find((fork) => (fork.status?.forkId ?? fork.spec.forkId ?? fork.metadata.name) === id) ??
    byName;
  if (!match) {
    throw new CliError(
      `no Fork "${id}" in namespace ${target.namespace} (kubefork ls -A lists every namespace)`,
    );
  }
  return match;
}

export async function listForks(target: Target, allNamespaces: boolean): Promise<Fork[]> {
  const namespace = allNamespaces ? undefined : target.namespace;
  const { body } = await call<ForkList>(target, 'GET', forksPath(namespace), {
    verb: 'list',
    resource: 'forks',
    namespace,
  });
  return body.items ?? [];
}

/** Server-side apply of `fork` (field manager kubefork-cli, force: the CLI owns what it sets). */
export async function applyFork(target: Target, fork: Fork): Promise<Fork> {
  const path = `${forksPath(target.namespace, fork.metadata.name!)}?fieldManager=${FIELD_MANAGER}&force=true`;
  const { body } = await call<Fork>(
    target,
    'PATCH',
    path,
    { verb: 'create or update (patch)', resource: 'forks', namespace: target.namespace },
    { body: fork, contentType: 'application/apply-patch+yaml' },
  );
  return body;
}

/** A JSON merge patch of the Fork `name`. */
export async function patchFork(target: Target, name: string, patch: unknown): Promise<Fork> {
  const { body } = await call<Fork>(
    target,
    'PATCH',
    forksPath(target.namespace, name),
    { verb: 'patch', resource: 'forks', namespace: target.namespace },
    { body: patch, contentType: 'application/merge-patch+json' },
  );
  return body;
}

export async function deleteFork(target: Target, name: string): Promise<void> {
  await call(
    target,
    'DELETE',
    `${forksPath(target.namespace, name)}?propagationPolicy=Background`,
    { verb: 'delete', resource: 'forks', namespace: target.namespace },
  );
}

const CORE_PATHS: Record<string, string> = {
  services: '/api/v1',
  deployments: '/apis/apps/v1',
  vsconfigs: GROUP_PATH,
};

/** GET a namespaced object; undefined when missing; `forbidden` when the user may not read it. */
export async function getObject<T>(
  target: Target,
  resource: 'services' | 'deployments' | 'vsconfigs',
  name: string,
): Promise<T | undefined | 'forbidden'> {
  const path = `${CORE_PATHS[resource]}/namespaces/${target.namespace}/${resource}/${encodeURIComponent(name)}`;
  const { status, body } = await kubeRequest<T>(target.kubeConfig, 'GET', path);
  if (status === 200) return body;
  if (status === 404) return undefined;
  if (status === 403) return 'forbidden';
  throw apiFailure(status, body, { verb: 'get', resource, namespace: target.namespace });
}

/** Names of the objects labelled `selector`; `forbidden` when the user may not list them. */
export async function listNames(
  target: Target,
  resource: 'services' | 'deployments' | 'vsconfigs',
  selector: string,
): Promise<string[] | 'forbidden'> {
  const path = `${CORE_PATHS[resource]}/namespaces/${target.namespace}/${resource}?labelSelector=${encodeURIComponent(selector)}`;
  const { status, body } = await kubeRequest<{ items?: { metadata: { name: string } }[] }>(
    target.kubeConfig,
    'GET',
    path,
  );
  if (status === 200) return (body.items ?? []).map((item) => item.metadata.name);
  if (status === 403) return 'forbidden';
  throw apiFailure(status, body, { verb: 'list', resource, namespace: target.namespace });
}
