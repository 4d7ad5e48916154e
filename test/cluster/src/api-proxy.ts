// A proxy in front of the real API server for tests that need to see or disturb the traffic of
// the code under test: it records every request (verb, resource, status) and injects faults
// (error statuses, delays, dropped or expired watches). Clients talk to it over TLS, with the
// API server's own certificate (so they verify it as they would the server), and their own
// bearer token; it forwards to the API server unchanged.
import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, createServer, request as httpsRequest, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';

export interface ProxiedRequest {
  method: string;
  path: string;
  /** get, list, watch, create, update, patch, delete, deletecollection */
  verb: string;
  group: string;
  plural: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** The proxy's answer when it injected one, else the API server's. */
  status: number;
  /** The bearer token's user, as named in `users` given to the proxy (or "unknown"). */
  user: string;
  /** performance.now() when the request arrived. */
  at: number;
  fieldManager?: string;
}

export interface FaultRule {
  match: (request: ProxiedRequest) => boolean;
  /** Answer with this status (a Kubernetes Status body) instead of forwarding. */
  status?: number;
  /** Delay before forwarding (or before the injected answer). */
  delayMs?: number;
  /** For watches: forward, then cut the connection after this long. */
  dropAfterMs?: number;
  /** For watches: answer 200 with one ERROR event of code 410 (resourceVersion too old). */
  expire?: boolean;
  /** How many requests the rule applies to (default: every one until removed). */
  times?: number;
}

export interface ApiProxy {
  /** `https://127.0.0.1:<port>` */
  url: string;
  /** Requests seen so far, oldest first (watches are recorded when they start). */
  requests: ProxiedRequest[];
  /** Requests that changed something (create, update, patch, delete, deletecollection). */
  writes(match?: (request: ProxiedRequest) => boolean): ProxiedRequest[];
  inject(rule: FaultRule): () => void;
  /** Names the requests that carry `token` (see ProxiedRequest.user). */
  addUser(name: string, token: string): void;
  /** Watches open now (through this proxy), optionally only those `match` picks. */
  openWatches(match?: (request: ProxiedRequest) => boolean): number;
  clearFaults(): void;
  /** Cuts every open watch (as a load balancer timing out would). */
  dropWatches(): void;
  /** Writes a kubeconfig that reaches the API server through this proxy with `token`. */
  kubeconfig(file: string, token: string): string;
  close(): Promise<void>;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export async function startApiProxy(options: {
  server: string;
  caFile: string;
  /** The certificate and key the proxy serves (the API server's: both are on 127.0.0.1). */
  certFile: string;
  keyFile: string;
  users?: Record<string, string>;
}): Promise<ApiProxy> {
  const { server, caFile, certFile, keyFile, users = {} } = options;
  const userByToken = new Map(Object.entries(users).map(([name, token]) => [token, name]));
  const agent = new Agent({ ca: readFileSync(caFile), keepAlive: true });
  const upstream = new URL(server);
  const requests: ProxiedRequest[] = [];
  const rules: (FaultRule & { left: number })[] = [];
  // Open watches, by the client's response: cutting one cuts both sides.
  const watches = new Map<ServerResponse, { record: ProxiedRequest; answer?: IncomingMessage }>();

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const record = describe(req, userByToken);
    requests.push(record);
    const rule = rules.find((r) => r.left > 0 && r.match(record));
    if (rule) {
      rule.left--;
    }
    if (record.verb === 'watch') {
      watches.set(res, { record });
      res.on('close', () => {
        watches.get(res)?.answer?.destroy();
        watches.delete(res);
      });
    }
    const forward = () => {
      // The client gave up while an injected delay ran: nothing to forward.
      if (res.destroyed || res.writableEnded) return;
      if (rule?.status !== undefined) {
        record.status = rule.status;
        res.writeHead(rule.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(statusBody(rule.status, 'injected by the test proxy')));
        req.resume();
        return;
      }
      if (rule?.expire && record.verb === 'watch') {
        record.status = 200;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          `${JSON.stringify({ type: 'ERROR', object: statusBody(410, 'too old resource version') })}\n`,
        );
        req.resume();
        return;
      }
      const headers = { ...req.headers, host: upstream.host };
      const out = httpsRequest(
        {
          protocol: upstream.protocol,
          hostname: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers,
          agent,
        },
        (answer) => {
          record.status = answer.statusCode ?? 0;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          // The API server sends a watch's headers at once; so must we (Node would hold them
          // until the first event, and the client would still be "connecting").
          res.flushHeaders();
          answer.pipe(res);
          // An answer cut short (the API server died, or a watch was dropped) must cut the
          // client's response too, or the client would wait on a dead watch forever.
          answer.on('close', () => {
            if (!answer.complete) res.destroy();
          });
          if (record.verb === 'watch') {
            const watch = watches.get(res);
            if (watch) watch.answer = answer;
            else answer.destroy();
            if (rule?.dropAfterMs !== undefined) {
              setTimeout(() => res.destroy(), rule.dropAfterMs).unref();
            }
          }
        },
      );
      out.on('error', () => {
        record.status = 502;
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify(statusBody(502, 'the API server could not be reached')));
      });
      res.on('close', () => out.destroy());
      req.pipe(out);
    };
    if (rule?.delayMs) setTimeout(forward, rule.delayMs);
    else forward();
  };

  const proxy: Server = createServer(
    { cert: readFileSync(certFile), key: readFileSync(keyFile) },
    handle,
  );
  proxy.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  return {
    url,
    requests,
    writes: (match) => requests.filter((r) => WRITE_VERBS.has(r.verb) && (!match || match(r))),
    inject(rule) {
      const entry = { ...rule, left: rule.times ?? Number.POSITIVE_INFINITY };
      rules.push(entry);
      return () => {
        entry.left = 0;
      };
    },
    addUser(name, token) {
      userByToken.set(token, name);
    },
    openWatches: (match) => [...watches.values()].filter((w) => !match || match(w.record)).length,
    clearFaults() {
      rules.length = 0;
    },
    dropWatches() {
      for (const res of watches.keys()) res.destroy();
    },
    kubeconfig(file, token) {
      const config = {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'proxy', cluster: { server: url, 'certificate-authority': caFile } }],
        users: [{ name: 'user', user: { token } }],
        contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'user' } }],
        'current-context': 'proxy',
      };
      writeFileSync(file, stringify(config), { mode: 0o600 });
      return file;
    },
    async close() {
      for (const res of watches.keys()) res.destroy();
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      agent.destroy();
    },
  };
}

function statusBody(code: number, message: string) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: code === 410 ? 'Expired' : code === 500 ? 'InternalError' : 'Unknown',
    code,
  };
}

/** Parses a Kubernetes API path the way the API server's RequestInfoFactory does (enough of it). */
function describe(req: IncomingMessage, userByToken: Map<string, string>): ProxiedRequest {
  const url = new URL(req.url ?? '/', 'http://proxy');
  const parts = url.pathname.split('/').filter(Boolean);
  let group = '';
  let rest: string[] = [];
  if (parts[0] === 'api') rest = parts.slice(2);
  else if (parts[0] === 'apis') {
    group = parts[1] ?? '';
    rest = parts.slice(3);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural = '', name, subresource] = rest;
  const method = req.method ?? 'GET';
  const watch = url.searchParams.get('watch');
  let verb: string;
  if (method === 'GET') verb = watch === 'true' || watch === '1' ? 'watch' : name ? 'get' : 'list';
  else if (method === 'POST') verb = 'create';
  else if (method === 'PUT') verb = 'update';
  else if (method === 'PATCH') verb = 'patch';
  else if (method === 'DELETE') verb = name ? 'delete' : 'deletecollection';
  else verb = method.toLowerCase();
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  return {
    method,
    path: url.pathname + url.search,
    verb,
    group,
    plural,
    ...(namespace === undefined ? {} : { namespace }),
    ...(name === undefined ? {} : { name }),
    ...(subresource === undefined ? {} : { subresource }),
    status: 0,
    user: (token && userByToken.get(token)) ?? 'unknown',
    at: performance.now(),
    ...(url.searchParams.get('fieldManager')
      ? { fieldManager: url.searchParams.get('fieldManager')! }
      : {}),
  };
}
