// Which cluster, user and namespace a command talks to, resolved as kubectl resolves them, and a
// small JSON client over node:https with the kubeconfig's TLS and credentials (client-node's
// KubeConfig does the parsing and authentication, including exec and token-file users).
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Cluster, Context, KubeConfig, User } from '@kubernetes/client-node';
import { CliError } from './errors.js';

export interface TargetOptions {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  namespace?: string | undefined;
}

export interface Target {
  kubeConfig: KubeConfig;
  /** `-n`, else the context's namespace, else `default`. */
  namespace: string;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * kubectl's order: `--kubeconfig`, then `KUBECONFIG` (a ':'-separated list, merged), then
 * `~/.kube/config`, then the pod's service account; `--context` picks a context of the result.
 * client-node is loaded here, on first use, so `--help`, usage errors and `manifest` start
 * without it (it is most of the CLI's start-up time).
 */
export async function loadTarget(options: TargetOptions, env = process.env): Promise<Target> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kubeConfig = new KubeConfig();
  const home = join(homedir(), '.kube', 'config');
  try {
    if (options.kubeconfig !== undefined) {
      if (!existsSync(options.kubeconfig)) {
        throw new CliError(`--kubeconfig ${options.kubeconfig}: no such file`);
      }
      kubeConfig.loadFromFile(options.kubeconfig);
    } else if (env.KUBECONFIG) {
      loadList(kubeConfig, env.KUBECONFIG, KubeConfig);
    } else if (existsSync(home)) {
      kubeConfig.loadFromFile(home);
    } else if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
      kubeConfig.loadFromCluster();
    } else {
      throw new CliError(
        'no cluster configuration: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config',
      );
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot read the kubeconfig: ${(error as Error).message}`);
  }
  if (options.context !== undefined) {
    if (!kubeConfig.getContextObject(options.context)) {
      const known = kubeConfig.getContexts().map((c) => c.name);
      throw new CliError(
        `context "${options.context}" is not in the kubeconfig (contexts: ${known.join(', ') || 'none'})`,
      );
    }
    kubeConfig.setCurrentContext(options.context);
  }
  if (!kubeConfig.getCurrentCluster()) {
    throw new CliError(
      'the kubeconfig has no current context with a cluster: pass --context or run `kubectl config use-context NAME`',
    );
  }
  const contextNamespace = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  return { kubeConfig, namespace: options.namespace || contextNamespace || 'default' };
}

/**
 * Merges the files of a KUBECONFIG list as kubectl does: missing files are skipped, the first
 * file that names a cluster, user or context wins, and so does the first current-context.
 * (client-node's loadFromDefault refuses a name that two files share, which kubectl allows.)
 */
function loadList(
  kubeConfig: KubeConfig,
  list: string,
  KubeConfigClass: new () => KubeConfig,
): void {
  const files = list.split(':').filter((file) => file !== '' && existsSync(file));
  if (files.length === 0) {
    throw new CliError(`KUBECONFIG=${list}: none of its files exists`);
  }
  const clusters = new Map<string, Cluster>();
  const users = new Map<string, User>();
  const contexts = new Map<string, Context>();
  let currentContext = '';
  for (const file of files) {
    const part = new KubeConfigClass();
    part.loadFromFile(file);
    for (const cluster of part.getClusters())
      if (!clusters.has(cluster.name)) clusters.set(cluster.name, cluster);
    for (const user of part.getUsers()) if (!users.has(user.name)) users.set(user.name, user);
    for (const context of part.getContexts())
      if (!contexts.has(context.name)) contexts.set(context.name, context);
    if (!currentContext) currentContext = part.getCurrentContext() ?? '';
  }
  kubeConfig.loadFromOptions({
    clusters: [...clusters.values()],
    users: [...users.values()],
    contexts: [...contexts.values()],
    currentContext,
  });
}

export interface Response<T> {
  status: number;
  body: T;
}

/** A Kubernetes `Status` as the API server sends it with an error. */
export interface ApiStatus {
  message?: string;
  reason?: string;
  details?: { name?: string; kind?: string; group?: string };
  code?: number;
}

export interface RequestInput {
  body?: unknown;
  contentType?: string;
}

/** One request to the API server; resolves with any status (the caller decides what is an error). */
export async function kubeRequest<T = unknown>(
  kubeConfig: KubeConfig,
  method: string,
  path: string,
  input: RequestInput = {},
): Promise<Response<T>> {
  const server = kubeConfig.getCurrentCluster()!.server;
  const url = new URL(path, server.endsWith('/') ? server : `${server}/`);
  // The server may have a path prefix (e.g. a proxy): keep it.
  url.pathname = `${new URL(server).pathname.replace(/\/$/, '')}${path.split('?')[0]}`;
  const options: RequestOptions = {
    method,
    headers: { accept: 'application/json' },
    timeout: 30_000,
  };
  await kubeConfig.applyToHTTPSOptions(options);
  const payload = input.body === undefined ? undefined : JSON.stringify(input.body);
  if (payload !== undefined) {
    (options.headers as Record<string, string>)['content-type'] =
      input.contentType ?? 'application/json';
  }
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // Not JSON (e.g. a proxy's HTML error page): keep the text for the message.
        }
        resolve({ status: res.statusCode ?? 0, body: body as T });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.host} within 30 s`)));
    req.on('error', (error) =>
      reject(new CliError(`cannot reach the API server ${server}: ${error.message}`)),
    );
    req.end(payload);
  });
}
