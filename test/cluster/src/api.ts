// A minimal client for the harness itself (the code under test uses its own): JSON over HTTPS
// with the cluster's CA and a bearer token. Failures carry the API server's Status.
import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly body: unknown;

  constructor(method: string, path: string, status: number, body: unknown) {
    const message = (body as { message?: string } | undefined)?.message ?? JSON.stringify(body);
    super(`${method} ${path}: ${status} ${message}`);
    this.status = status;
    this.body = body;
  }
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  /** Resolve with non-2xx responses instead of throwing. */
  allowError?: boolean;
}

export class ApiClient {
  readonly server: string;
  readonly #token: string;
  readonly #agent: Agent;

  constructor(server: string, caFile: string, token: string) {
    this.server = server;
    this.#token = token;
    this.#agent = new Agent({ ca: readFileSync(caFile), keepAlive: true, maxSockets: 8 });
  }

  async request<T = unknown>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    const { body, contentType = 'application/json', allowError = false } = options;
    const payload =
      body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const url = new URL(path, this.server);
    const response = await new Promise<ApiResponse<T>>((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method,
          agent: this.#agent,
          headers: {
            authorization: `Bearer ${this.#token}`,
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': contentType }),
          },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // Not JSON (e.g. /readyz's "ok").
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
    if (!allowError && (response.status < 200 || response.status >= 300)) {
      throw new ApiError(method, path, response.status, response.body);
    }
    return response;
  }

  close(): void {
    this.#agent.destroy();
  }
}
