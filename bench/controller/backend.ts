// What the controller benchmark needs from an API server: the fake one of the controller's tests
// (fake-backend.ts) or a real kube-apiserver (cluster-backend.ts). Each is seeded before the
// controller starts; measure.ts runs the same scenario against either.

export interface WriteRecord {
  /** Resource plural: virtualservices, vsconfigs (status), events, … */
  plural: string;
  /** The API server's answer (0 while none has come back). */
  status: number;
}

export interface ControllerBackend {
  /** A label for tables: "fake API server", "kube-apiserver v1.37.2". */
  readonly name: string;
  /** The kubeconfig the controller process runs with. */
  readonly kubeconfig: string;
  /** How long seeding the Services and VSConfigs took (not the controller's time). */
  readonly seedMs: number;
  /** Writes the controller has sent so far, oldest first. */
  writes(): readonly WriteRecord[];
  /**
   * Resolves when every host's VirtualService has all its routes and every VSConfig is Ready at
   * its generation (as seen through a watch, not by polling).
   */
  converged(timeoutMs?: number): Promise<void>;
  /**
   * Changes the headerValue of VSConfig `name` to `value` and resolves with the milliseconds until
   * `host`'s VirtualService has the route `kubefork-<value>`.
   */
  change(namespace: string, name: string, host: string, value: string): Promise<number>;
  /** CPU seconds the API server side has used so far (see `cpuLabel`). */
  serverCpuSeconds(): number;
  /** What serverCpuSeconds counts. */
  readonly cpuLabel: string;
  close(): Promise<void>;
}
