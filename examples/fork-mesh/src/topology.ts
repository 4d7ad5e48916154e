// The shape of the demo mesh: four services in a chain, each on a different integration.

/** A service of the chain (the Kubernetes Service name of its baseline). */
export type ServiceName = 'a' | 'b' | 'c' | 'e';

/** How a service is reached: plain HTTP/1.1, or gRPC (HTTP/2 without TLS). */
export type Protocol = 'http' | 'grpc';

export interface ServiceSpec {
  readonly name: ServiceName;
  /** The kubefork integration the service runs on, as shown in the demo's table. */
  readonly integration: string;
  readonly protocol: Protocol;
  /** The next service of the chain; `undefined` for the leaf. */
  readonly downstream: ServiceName | undefined;
}

/** Namespace of every object in `k8s/`; VirtualService hosts and destinations are FQDNs in it. */
export const NAMESPACE = 'fork-mesh';

/** A (Express) → B (Fastify) → C (gRPC) → E (node:http). */
export const SERVICES: readonly ServiceSpec[] = Object.freeze([
  { name: 'a', integration: 'Express', protocol: 'http', downstream: 'b' },
  { name: 'b', integration: 'Fastify', protocol: 'http', downstream: 'c' },
  { name: 'c', integration: 'gRPC', protocol: 'grpc', downstream: 'e' },
  { name: 'e', integration: 'node:http', protocol: 'http', downstream: undefined },
]);

export function serviceSpec(name: string): ServiceSpec {
  const spec = SERVICES.find((service) => service.name === name);
  if (spec === undefined) {
    throw new TypeError(
      `Unknown service ${JSON.stringify(name)}; expected one of ${SERVICES.map((s) => s.name).join(', ')}`,
    );
  }
  return spec;
}

/** The cluster-local name Istio routes by, e.g. `b-alice.fork-mesh.svc.cluster.local`. */
export function serviceFqdn(name: string): string {
  return `${name}.${NAMESPACE}.svc.cluster.local`;
}
