// The routing decision of the stand-in sidecar: the planned VirtualService of the host decides
// with the controller's matchRoute, exactly as Envoy would; a host without one goes to itself.
import { matchRoute, type VirtualService } from '@kubefork/controller';
import { serviceFqdn } from '../topology.js';

export interface RouteConfig {
  /** The VirtualService of every host that has one, by host (`b`, `e`). */
  readonly virtualServices: Readonly<Record<string, VirtualService>>;
  /** Where each destination listens: FQDN (`b-alice.fork-mesh.svc.cluster.local`) → port. */
  readonly destinations: Readonly<Record<string, number>>;
}

export class RouteTable {
  #config: RouteConfig | undefined;

  configure(config: RouteConfig): void {
    this.#config = config;
  }

  /**
   * The port of the instance that serves a request for `host` with these headers (names in
   * lower case, repeated headers joined with `,` as Envoy joins them), or `undefined` when the
   * table is not configured yet or the route leads nowhere.
   */
  resolve(host: string, headers: Record<string, string>): number | undefined {
    const config = this.#config;
    if (config === undefined) return undefined;
    const virtualService = config.virtualServices[host];
    const destination =
      virtualService === undefined ? serviceFqdn(host) : matchRoute(virtualService, { headers });
    return destination === undefined ? undefined : config.destinations[destination];
  }
}

/** node:http raw headers → one value per lower-case name, repeated headers joined with `,`. */
export function headerMap(rawHeaders: readonly string[]): Record<string, string> {
  // No prototype: a header named `__proto__` is a valid token and must stay just a header.
  const headers: Record<string, string> = Object.create(null);
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  return headers;
}
