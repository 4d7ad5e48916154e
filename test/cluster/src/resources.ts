// Applying manifests as the admin: server-side apply to the path discovery gives for each kind,
// the way `kubectl apply --server-side` does it, without needing kubectl.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { ApiClient } from './api.js';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** Every object in a multi-document YAML file or string (empty documents skipped). */
export function readManifests(fileOrText: string): KubeObject[] {
  const text = fileOrText.includes('\n') ? fileOrText : readFileSync(fileOrText, 'utf8');
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null && typeof object === 'object');
}

export class Resources {
  readonly #api: ApiClient;
  readonly #groups = new Map<string, ApiResource[]>();

  constructor(api: ApiClient) {
    this.#api = api;
  }

  /** The collection path of a kind (`/apis/apps/v1/namespaces/ns/deployments`). */
  async collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    const resource = await this.#resource(apiVersion, kind);
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    if (!resource.namespaced) return `${base}/${resource.name}`;
    return `${base}/namespaces/${namespace ?? 'default'}/${resource.name}`;
  }

  async objectPath(object: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): Promise<string> {
    const collection = await this.collectionPath(
      object.apiVersion,
      object.kind,
      object.metadata.namespace,
    );
    return `${collection}/${encodeURIComponent(object.metadata.name)}`;
  }

  /** Server-side apply of each object, in order, as field manager `manager`. */
  async apply(objects: KubeObject[], manager = 'kubefork-test'): Promise<KubeObject[]> {
    const applied: KubeObject[] = [];
    for (const object of objects) {
      const path = await this.objectPath(object);
      const { body } = await this.#api.request<KubeObject>(
        'PATCH',
        `${path}?fieldManager=${encodeURIComponent(manager)}&force=true`,
        { body: object, contentType: 'application/apply-patch+yaml' },
      );
      applied.push(body);
    }
    return applied;
  }

  async #resource(apiVersion: string, kind: string): Promise<ApiResource> {
    for (let attempt = 0; attempt < 2; attempt++) {
      let resources = this.#groups.get(apiVersion);
      if (!resources || attempt > 0) {
        const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
        const { status, body } = await this.#api.request<{ resources?: ApiResource[] }>(
          'GET',
          path,
          { allowError: true },
        );
        resources = status === 200 ? (body.resources ?? []) : [];
        this.#groups.set(apiVersion, resources);
      }
      const found = resources.find((r) => r.kind === kind && !r.name.includes('/'));
      if (found) return found;
    }
    throw new Error(`the API server does not serve ${kind} in ${apiVersion}`);
  }
}
