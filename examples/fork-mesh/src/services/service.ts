// What every service module offers the process that runs it.

export interface ServiceOptions {
  /** The name of this copy (`b`, `b-alice`, …), reported in every hop. */
  instance: string;
  /** Interface to listen on. */
  host: string;
  /** Port to listen on; `0` picks a free one. */
  port: number;
  /** Where the next service of the chain is: `http://host:port` (HTTP) or `host:port` (gRPC). */
  downstream: string | undefined;
}

export interface RunningService {
  /** The port the service listens on. */
  readonly port: number;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

export function requireDownstream(service: string, downstream: string | undefined): string {
  if (downstream === undefined || downstream === '') {
    throw new TypeError(`Service ${service} calls the next service: set MESH_DOWNSTREAM`);
  }
  return downstream;
}
