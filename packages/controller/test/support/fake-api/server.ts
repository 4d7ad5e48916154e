// A small Kubernetes API server for tests, served over HTTP on 127.0.0.1 and talked to by the
// real @kubernetes/client-node: get/list/watch/create/update/patch/delete on the types in
// resources.ts, `/status`, optimistic concurrency, server-side apply, label selectors, watch
// streams with bookmarks, 410 Gone and server-side closes, plus fault injection.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiError, badRequest } from './errors.js';
import { isObject, type Json, type JsonObject } from './json.js';
import { SelectorError } from './label-selector.js';
import { DEFAULT_RESOURCES, type ResourceType } from './resources.js';
import { FakeStore } from './store.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'other';

/** One request as the server understood it; faults match on these. */
export interface RequestInfo {
  method: string;
  path: string;
  query: URLSearchParams;
  verb: Verb;
  group: string;
  version: string;
  plural: string;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
  contentType: string | undefined;
  fieldManager: string | undefined;
  /** The bearer token: tells apart clients with different credentials. */
  user: string | undefined;
  /** `performance.now()` when the request arrived. */
  at: number;
  /** The client's port: requests on one kept-alive connection share it. */
  remotePort: number | undefined;
}

export interface RequestRecord extends RequestInfo {
  /** The status sent; `0` while a watch is open or when the connection was dropped. */
  status: number;
  /** Set when a fault answered (or dropped) the request. */
  faulted: boolean;
}

/**
 * A fault injected into matching requests: delay them, answer them with an error status,
 * or drop the connection without an answer. `times` limits how often it fires (default: always).
 */
export interface Fault {
  match?: (request: RequestInfo) => boolean;
  times?: number;
  delayMs?: number;
  status?: number;
  drop?: boolean;
}

export interface FakeApiServerOptions {
  resources?: ResourceType[];
  /** Bookmark interval for watches that set `allowWatchBookmarks=true`; 0 disables. Default 1,000 ms. */
  bookmarkIntervalMs?: number;
  /** Closes every watch after this long, like the real server's `--min-request-timeout`. */
  watchTimeoutMs?: number;
  /**
   * How an expired resourceVersion is reported to a watch: `'event'` (HTTP 200, an ERROR event
   * with a 410 Status, then close; what current servers do) or `'status'` (HTTP 410).
   */
  goneAs?: 'event' | 'status';
  historyLimit?: number;
}

const WRITE_VERBS = new Set<Verb>(['create', 'update', 'patch', 'delete']);
const MAX_BODY = 3 * 1024 * 1024;

interface OpenWatch {
  response: ServerResponse;
  info: RequestInfo;
  close(abrupt: boolean): void;
}

export class FakeApiServer {
  readonly store: FakeStore;
  readonly requests: RequestRecord[] = [];
  readonly #server: Server;
  readonly #options: Required<
    Omit<FakeApiServerOptions, 'resources' | 'historyLimit' | 'watchTimeoutMs'>
  > &
    Pick<FakeApiServerOptions, 'watchTimeoutMs'>;
  readonly #watches = new Set<OpenWatch>();
  #faults: (Fault & { remaining: number })[] = [];
  #url = '';

  private constructor(options: FakeApiServerOptions) {
    this.store = new FakeStore(options.resources ?? DEFAULT_RESOURCES, options.historyLimit);
    this.#options = {
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1000,
      goneAs: options.goneAs ?? 'event',
      watchTimeoutMs: options.watchTimeoutMs,
    };
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent)
          this.#sendError(res, new ApiError(500, 'InternalError', String(error)));
        else res.destroy();
      });
    });
  }

  /** Starts a server on 127.0.0.1 with an ephemeral port. */
  static async start(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const server = new FakeApiServer(options);
    server.#server.listen(0, '127.0.0.1');
    await once(server.#server, 'listening');
    const { port } = server.#server.address() as AddressInfo;
    server.#url = `http://127.0.0.1:${port}`;
    return server;
  }

  get url(): string {
    return this.#url;
  }

  /** A KubeConfig for the real client pointing at this server; `token` names the client. */
  kubeConfig(token = 'fake-token'): KubeConfig {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(this.kubeConfigYaml(token));
    return kubeConfig;
  }

  /** The same, as a kubeconfig file's text (for processes started with `KUBECONFIG`). */
  kubeConfigYaml(token = 'fake-token'): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: fake',
      `  cluster: { server: "${this.#url}", insecure-skip-tls-verify: true }`,
      'users:',
      '- name: fake',
      `  user: { token: ${token} }`,
      'contexts:',
      '- name: fake',
      '  context: { cluster: fake, user: fake }',
      'current-context: fake',
      '',
    ].join('\n');
  }

  /** Injects a fault; returns a function that removes it. */
  inject(fault: Fault): () => void {
    const entry = { ...fault, remaining: fault.times ?? Number.POSITIVE_INFINITY };
    this.#faults.push(entry);
    return () => {
      this.#faults = this.#faults.filter((f) => f !== entry);
    };
  }

  clearFaults(): void {
    this.#faults = [];
  }

  /** Ends every open watch: cleanly (like a server-side timeout) or by dropping the connection. */
  closeWatches(options: { abrupt?: boolean; match?: (request: RequestInfo) => boolean } = {}) {
    let closed = 0;
    for (const watch of [...this.#watches]) {
      if (options.match && !options.match(watch.info)) continue;
      watch.close(options.abrupt === true);
      closed += 1;
    }
    return closed;
  }

  /** Open watch streams, optionally only those matching. */
  openWatches(match?: (request: RequestInfo) => boolean): RequestInfo[] {
    return [...this.#watches].map((w) => w.info).filter((info) => !match || match(info));
  }

  /** Requests that write (create, update, patch, delete), optionally filtered. */
  writes(match?: (request: RequestRecord) => boolean): RequestRecord[] {
    return this.requests.filter((r) => WRITE_VERBS.has(r.verb) && (!match || match(r)));
  }

  async close(): Promise<void> {
    this.closeWatches({ abrupt: true });
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, 'close');
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const info = parseRequest(req);
    const record: RequestRecord = { ...info, status: 0, faulted: false };
    this.requests.push(record);
    res.on('finish', () => {
      record.status = res.statusCode;
    });

    const fault = this.#takeFault(info);
    if (fault) {
      record.faulted = fault.status !== undefined || fault.drop === true;
      if (fault.delayMs) await sleep(fault.delayMs);
      if (fault.drop) {
        req.socket.destroy();
        return;
      }
      if (fault.status !== undefined) {
        const reason = fault.status >= 500 ? 'InternalError' : 'Injected';
        this.#sendError(res, new ApiError(fault.status, reason, `injected fault: ${fault.status}`));
        return;
      }
    }

    if (info.path === '/version') {
      this.#send(res, 200, { major: '1', minor: '31', gitVersion: 'v1.31.0-kubefork-fake' });
      return;
    }
    const type = this.store.type(info.group, info.version, info.plural);
    if (!type || (info.subresource !== undefined && info.subresource !== 'status')) {
      this.#sendError(
        res,
        new ApiError(
          404,
          'NotFound',
          `the server could not find the requested resource (${info.path})`,
        ),
      );
      return;
    }
    if (info.subresource === 'status' && !type.statusSubresource) {
      this.#sendError(
        res,
        new ApiError(404, 'NotFound', `${info.plural} has no status subresource`),
      );
      return;
    }
    const apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
    try {
      if (info.verb === 'watch') {
        this.#watch(req, res, type, apiVersion, info);
        return;
      }
      const body = await readBody(req);
      this.#dispatch(res, type, apiVersion, info, body);
    } catch (error) {
      if (error instanceof ApiError) this.#sendError(res, error);
      else if (error instanceof SelectorError) this.#sendError(res, badRequest(error.message));
      else throw error;
    }
  }

  #dispatch(
    res: ServerResponse,
    type: ResourceType,
    apiVersion: string,
    info: RequestInfo,
    body: Json | undefined,
  ): void {
    const { store } = this;
    const namespace = info.namespace ?? '';
    const name = info.name ?? '';
    const manager = info.fieldManager ?? 'unknown';
    const subresource = info.subresource === 'status' ? ('status' as const) : undefined;
    if (info.query.get('dryRun')) throw badRequest('the fake API server does not implement dryRun');
    switch (info.verb) {
      case 'get':
        this.#send(res, 200, store.get(type, apiVersion, namespace, name));
        return;
      case 'list': {
        const list = store.list(type, apiVersion, {
          namespace: info.namespace,
          labelSelector: info.query.get('labelSelector'),
          fieldSelector: info.query.get('fieldSelector'),
        });
        this.#send(res, 200, {
          apiVersion,
          kind: `${type.kind}List`,
          metadata: { resourceVersion: list.resourceVersion },
          items: list.items,
        });
        return;
      }
      case 'create':
        this.#send(res, 201, store.create(type, apiVersion, namespace, body ?? null, { manager }));
        return;
      case 'update':
        this.#send(
          res,
          200,
          store.update(type, apiVersion, namespace, name, body ?? null, { manager, subresource }),
        );
        return;
      case 'patch': {
        const existed = store.tryGet(type, apiVersion, namespace, name) !== undefined;
        const force = info.query.get('force');
        const isApply = info.contentType?.startsWith('application/apply-patch') === true;
        const patched = store.patch(type, apiVersion, namespace, name, body ?? null, {
          // Apply requires a fieldManager; other writes are attributed to "unknown" without one.
          manager: info.fieldManager ?? (isApply ? '' : 'unknown'),
          subresource,
          contentType: info.contentType ?? '',
          ...(force === null ? {} : { force: force === 'true' }),
        });
        this.#send(res, existed ? 200 : 201, patched);
        return;
      }
      case 'delete': {
        const preconditions =
          isObject(body) && isObject(body.preconditions) ? body.preconditions : {};
        this.#send(
          res,
          200,
          store.delete(type, apiVersion, namespace, name, {
            ...(typeof preconditions.resourceVersion === 'string'
              ? { resourceVersion: preconditions.resourceVersion }
              : {}),
            ...(typeof preconditions.uid === 'string' ? { uid: preconditions.uid } : {}),
          }),
        );
        return;
      }
      default:
        throw new ApiError(
          405,
          'MethodNotAllowed',
          `${info.method} is not supported on ${info.path}`,
        );
    }
  }

  #watch(
    req: IncomingMessage,
    res: ServerResponse,
    type: ResourceType,
    apiVersion: string,
    info: RequestInfo,
  ): void {
    const pending: string[] = [];
    let live = false;
    const write = (line: string) => {
      if (live) res.write(line);
      else pending.push(line);
    };
    let unsubscribe: () => void;
    try {
      unsubscribe = this.store.watch(
        type,
        apiVersion,
        {
          namespace: info.namespace,
          labelSelector: info.query.get('labelSelector'),
          fieldSelector: info.query.get('fieldSelector'),
          resourceVersion: info.query.get('resourceVersion'),
        },
        (event) => write(`${JSON.stringify(event)}\n`),
      );
    } catch (error) {
      if (error instanceof ApiError && error.code === 410 && this.#options.goneAs === 'event') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify({ type: 'ERROR', object: error.toStatus() })}\n`);
        return;
      }
      throw error;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    live = true;
    for (const line of pending.splice(0)) res.write(line);

    const timers: NodeJS.Timeout[] = [];
    const bookmarks = info.query.get('allowWatchBookmarks') === 'true';
    if (bookmarks && this.#options.bookmarkIntervalMs > 0) {
      const bookmark = () => {
        const object = {
          kind: type.kind,
          apiVersion,
          metadata: { resourceVersion: this.store.resourceVersion },
        };
        write(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
      };
      timers.push(setInterval(bookmark, this.#options.bookmarkIntervalMs));
    }
    const timeoutSeconds = Number(info.query.get('timeoutSeconds') ?? Number.NaN);
    const timeoutMs = Number.isFinite(timeoutSeconds)
      ? timeoutSeconds * 1000
      : this.#options.watchTimeoutMs;
    if (timeoutMs !== undefined) timers.push(setTimeout(() => watch.close(false), timeoutMs));

    const watch: OpenWatch = {
      response: res,
      info,
      close: (abrupt) => {
        cleanup();
        if (abrupt) res.destroy();
        else res.end();
      },
    };
    const cleanup = () => {
      unsubscribe();
      for (const timer of timers) clearTimeout(timer);
      this.#watches.delete(watch);
    };
    this.#watches.add(watch);
    req.on('close', cleanup);
    res.on('close', cleanup);
  }

  #takeFault(info: RequestInfo): Fault | undefined {
    const fault = this.#faults.find((f) => f.remaining > 0 && (!f.match || f.match(info)));
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.#faults = this.#faults.filter((f) => f !== fault);
    return fault;
  }

  #send(res: ServerResponse, status: number, body: JsonObject): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  #sendError(res: ServerResponse, error: ApiError): void {
    this.#send(res, error.code, error.toStatus());
  }
}

function parseRequest(req: IncomingMessage): RequestInfo {
  const url = new URL(req.url ?? '/', 'http://fake');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let group = '';
  let version = '';
  let rest: string[] = [];
  if (parts[0] === 'api') {
    version = parts[1] ?? '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    group = parts[1] ?? '';
    version = parts[2] ?? '';
    rest = parts.slice(3);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural = '', name, subresource] = rest;
  const method = req.method ?? 'GET';
  const isWatch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
  const verbs: Record<string, Verb> = {
    GET: name ? 'get' : isWatch ? 'watch' : 'list',
    POST: 'create',
    PUT: 'update',
    PATCH: 'patch',
    DELETE: 'delete',
  };
  return {
    method,
    path: url.pathname,
    query: url.searchParams,
    verb: verbs[method] ?? 'other',
    group,
    version,
    plural,
    namespace,
    name,
    subresource,
    contentType: req.headers['content-type'],
    fieldManager: url.searchParams.get('fieldManager') ?? undefined,
    user: /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1],
    remotePort: req.socket.remotePort,
    at: performance.now(),
  };
}

async function readBody(req: IncomingMessage): Promise<Json | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ApiError(413, 'RequestEntityTooLarge', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as Json;
  } catch {
    // The real server also takes YAML for apply patches; every client here sends JSON.
    throw badRequest(`the fake API server only accepts JSON bodies: ${text.slice(0, 80)}`);
  }
}
