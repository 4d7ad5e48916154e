// The fake API server's storage: one synchronous, totally ordered store (like etcd behind one
// apiserver), so every write is atomic and every watch sees events in resourceVersion order.
import { randomUUID } from 'node:crypto';
import { ApiError, badRequest, conflict, gone, notFound } from './errors.js';
import {
  ApplyConflictError,
  applyConfiguration,
  type ManagerEntry,
  recordUpdate,
  toManagedFields,
} from './field-managers.js';
import { clone, deepEqual, isObject, type Json, type JsonObject, mergePatch } from './json.js';
import { parseLabelSelector } from './label-selector.js';
import { type ResourceType, typeKey } from './resources.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface Stored {
  object: JsonObject;
  managers: ManagerEntry[];
}

interface HistoryEntry {
  rv: number;
  key: string;
  type: EventType;
  object: Stored;
  previous: JsonObject | undefined;
}

export interface Selection {
  namespace?: string | undefined;
  labelSelector?: string | null | undefined;
  fieldSelector?: string | null | undefined;
}

export interface WriteOptions {
  /** `fieldManager`; defaults to the writer's user agent, as the real server does. */
  manager: string;
  subresource?: 'status' | undefined;
}

export interface PatchOptions extends WriteOptions {
  contentType: string;
  force?: boolean;
}

export type WatchListener = (event: { type: EventType; object: JsonObject }) => void;

function metadataOf(object: JsonObject): JsonObject {
  if (!isObject(object.metadata)) object.metadata = {};
  return object.metadata as JsonObject;
}

/** What `generation` tracks: everything but metadata (and status when it is a subresource). */
function specPart(object: JsonObject | undefined, type: ResourceType): JsonObject {
  const { metadata: _metadata, status, ...rest } = object ?? {};
  return type.statusSubresource || status === undefined ? rest : { ...rest, status };
}

function withoutVolatile(object: JsonObject): JsonObject {
  const copy = clone(object);
  const metadata = metadataOf(copy);
  delete metadata.resourceVersion;
  delete metadata.managedFields;
  return copy;
}

function sameManagers(a: ManagerEntry[], b: ManagerEntry[]): boolean {
  const render = (list: ManagerEntry[]) =>
    list.map((m) => `${m.manager}|${m.operation}|${m.subresource}|${[...m.fields].sort()}`).sort();
  return deepEqual(render(a), render(b));
}

/** Matches `metadata.name=x,metadata.namespace=y` (the only field selectors every type has). */
function parseFieldSelector(selector: string | null | undefined): (o: JsonObject) => boolean {
  const terms = (selector ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
    .map((term) => {
      const match = /^(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*)$/.exec(term);
      if (!match) throw badRequest(`field label not supported by the fake server: ${term}`);
      return {
        field: match[1]!.slice('metadata.'.length),
        negate: match[2] === '!=',
        value: match[3],
      };
    });
  return (object) => {
    const metadata = metadataOf(object);
    return terms.every((t) => (metadata[t.field] === t.value) !== t.negate);
  };
}

function selectionMatcher(selection: Selection): (object: JsonObject | undefined) => boolean {
  const labels = parseLabelSelector(selection.labelSelector);
  const fields = parseFieldSelector(selection.fieldSelector);
  return (object) => {
    if (!object) return false;
    const metadata = metadataOf(object);
    if (selection.namespace && metadata.namespace !== selection.namespace) return false;
    return labels(metadata.labels as Record<string, string> | undefined) && fields(object);
  };
}

export class FakeStore {
  /** The server's clock (creationTimestamp, managedFields times); tests may replace it. */
  clock: () => Date = () => new Date();
  readonly #types = new Map<string, ResourceType>();
  readonly #objects = new Map<string, Map<string, Stored>>();
  readonly #watchers = new Map<string, Set<(entry: HistoryEntry) => void>>();
  #history: HistoryEntry[] = [];
  #rv = 1000;
  #compactedRv = 1000;
  readonly #historyLimit: number;

  constructor(types: ResourceType[], historyLimit = 100_000) {
    for (const type of types) {
      this.#types.set(typeKey(type), type);
      this.#objects.set(typeKey(type), new Map());
      this.#watchers.set(typeKey(type), new Set());
    }
    this.#historyLimit = historyLimit;
  }

  /** The resource type served at `group`/`version`/`plural`, if any. */
  type(group: string, version: string, plural: string): ResourceType | undefined {
    const type = this.#types.get(`${group}/${plural}`);
    return type?.versions.includes(version) ? type : undefined;
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** Forgets the watch history: any watch resuming from an older resourceVersion gets 410. */
  compact(): void {
    this.#history = [];
    this.#compactedRv = this.#rv;
  }

  /** Sorted by namespace and name, as the real server lists from etcd. */
  list(type: ResourceType, apiVersion: string, selection: Selection = {}) {
    const matches = selectionMatcher(selection);
    const items = [...this.#bucket(type).values()]
      .filter((stored) => matches(stored.object))
      .map((stored) => this.#render(type, apiVersion, stored))
      .sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    return { items, resourceVersion: this.resourceVersion };
  }

  get(type: ResourceType, apiVersion: string, namespace: string, name: string): JsonObject {
    return this.#render(type, apiVersion, this.#require(type, namespace, name));
  }

  tryGet(type: ResourceType, apiVersion: string, namespace: string, name: string) {
    const stored = this.#bucket(type).get(`${namespace}/${name}`);
    return stored ? this.#render(type, apiVersion, stored) : undefined;
  }

  create(
    type: ResourceType,
    apiVersion: string,
    namespace: string,
    body: Json,
    options: WriteOptions,
  ): JsonObject {
    if (!isObject(body)) throw badRequest('the body of the request must be an object');
    const object = clone(body);
    const metadata = metadataOf(object);
    if (metadata.namespace !== undefined && metadata.namespace !== namespace && type.namespaced) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    if (metadata.resourceVersion !== undefined && metadata.resourceVersion !== '') {
      throw badRequest('resourceVersion should not be set on objects to be created');
    }
    if (typeof metadata.name !== 'string' || metadata.name === '') {
      if (typeof metadata.generateName !== 'string') {
        throw new ApiError(
          422,
          'Invalid',
          'metadata.name: Required value: name or generateName is required',
        );
      }
      metadata.name = `${metadata.generateName}${randomUUID().slice(0, 5)}`;
    }
    const name = metadata.name as string;
    if (this.#bucket(type).has(`${namespace}/${name}`)) {
      throw new ApiError(409, 'AlreadyExists', `${type.plural} "${name}" already exists`, { name });
    }
    if (type.statusSubresource) delete object.status;
    Object.assign(metadata, {
      namespace,
      uid: randomUUID(),
      creationTimestamp: this.#now(),
      generation: 1,
    });
    if (!type.namespaced) delete metadata.namespace;
    const managers = recordUpdate({
      before: undefined,
      after: object,
      managers: [],
      manager: options.manager,
      scope: 'all',
      apiVersion,
      now: this.#now(),
    });
    return this.#write(type, apiVersion, undefined, object, managers);
  }

  /** PUT: replaces the object (or only its status), guarded by `metadata.resourceVersion`. */
  update(
    type: ResourceType,
    apiVersion: string,
    namespace: string,
    name: string,
    body: Json,
    options: WriteOptions,
  ): JsonObject {
    if (!isObject(body)) throw badRequest('the body of the request must be an object');
    const current = this.#require(type, namespace, name);
    const metadata = metadataOf(clone(body));
    if (metadata.name !== undefined && metadata.name !== name) {
      throw badRequest('the name of the object does not match the name on the URL');
    }
    const rv = metadata.resourceVersion;
    if (rv === undefined || rv === '') {
      if (!type.unconditionalUpdate) {
        throw new ApiError(
          422,
          'Invalid',
          'metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
        );
      }
    } else if (rv !== metadataOf(current.object).resourceVersion) {
      throw conflict(type.plural, name);
    }
    return this.#replace(type, apiVersion, current, clone(body), options);
  }

  patch(
    type: ResourceType,
    apiVersion: string,
    namespace: string,
    name: string,
    body: Json,
    options: PatchOptions,
  ): JsonObject {
    const contentType = options.contentType.split(';')[0]!.trim();
    if (contentType === 'application/apply-patch+yaml') {
      return this.#apply(type, apiVersion, namespace, name, body, options);
    }
    if (contentType !== 'application/merge-patch+json') {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the fake API server does not implement PATCH with Content-Type "${contentType}"`,
      );
    }
    if (options.force !== undefined) {
      throw badRequest('force: Forbidden: may not be specified for non-apply patch');
    }
    const current = this.#require(type, namespace, name);
    const rv =
      isObject(body) && isObject(body.metadata) ? body.metadata.resourceVersion : undefined;
    if (rv !== undefined && rv !== metadataOf(current.object).resourceVersion) {
      throw conflict(type.plural, name);
    }
    const patched = mergePatch(current.object, body);
    if (!isObject(patched)) throw badRequest('a merge patch must leave an object');
    return this.#replace(type, apiVersion, current, patched, options);
  }

  delete(
    type: ResourceType,
    apiVersion: string,
    namespace: string,
    name: string,
    preconditions: { resourceVersion?: string; uid?: string } = {},
  ): JsonObject {
    const current = this.#require(type, namespace, name);
    const metadata = metadataOf(current.object);
    const stale =
      (preconditions.resourceVersion !== undefined &&
        preconditions.resourceVersion !== metadata.resourceVersion) ||
      (preconditions.uid !== undefined && preconditions.uid !== metadata.uid);
    if (stale) throw conflict(type.plural, name);
    this.#bucket(type).delete(`${namespace}/${name}`);
    this.#rv += 1;
    const deleted: Stored = { object: clone(current.object), managers: current.managers };
    metadataOf(deleted.object).resourceVersion = String(this.#rv);
    this.#commit(type, 'DELETED', deleted, current.object);
    return this.#render(type, apiVersion, deleted);
  }

  /**
   * Streams events after `resourceVersion` (or every current object as ADDED when it is empty
   * or "0") to `listener`; returns the unsubscribe function. Throws 410 when the history no
   * longer reaches back to `resourceVersion`.
   */
  watch(
    type: ResourceType,
    apiVersion: string,
    selection: Selection & { resourceVersion?: string | null },
    listener: WatchListener,
  ): () => void {
    const matches = selectionMatcher(selection);
    const key = typeKey(type);
    const deliver = (entry: HistoryEntry) => {
      const wasIn = matches(entry.previous);
      const isIn = matches(entry.object.object);
      let eventType: EventType | undefined;
      if (entry.type === 'DELETED') eventType = wasIn ? 'DELETED' : undefined;
      else if (wasIn && isIn) eventType = entry.type;
      else if (isIn) eventType = 'ADDED';
      else if (wasIn) eventType = 'DELETED';
      if (eventType)
        listener({ type: eventType, object: this.#render(type, apiVersion, entry.object) });
    };
    const from = selection.resourceVersion;
    if (from && from !== '0') {
      const rv = Number(from);
      if (!Number.isInteger(rv)) throw badRequest(`invalid resourceVersion "${from}"`);
      if (rv < this.#compactedRv) throw gone(rv, this.#compactedRv);
      for (const entry of this.#history) if (entry.key === key && entry.rv > rv) deliver(entry);
    } else {
      for (const object of this.list(type, apiVersion, selection).items) {
        listener({ type: 'ADDED', object });
      }
    }
    const watchers = this.#watchers.get(key)!;
    watchers.add(deliver);
    return () => watchers.delete(deliver);
  }

  #apply(
    type: ResourceType,
    apiVersion: string,
    namespace: string,
    name: string,
    body: Json,
    options: PatchOptions,
  ): JsonObject {
    if (!isObject(body)) throw badRequest('an apply patch must be an object');
    if (!options.manager || options.manager === '') {
      throw new ApiError(
        422,
        'Invalid',
        'fieldManager: Required value: is required for apply patch',
      );
    }
    if (options.subresource) {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        'the fake API server does not implement apply on subresources',
      );
    }
    const metadata = isObject(body.metadata) ? body.metadata : {};
    const expectedApiVersion = type.group ? `${type.group}/` : '';
    if (
      body.kind !== type.kind ||
      typeof body.apiVersion !== 'string' ||
      !body.apiVersion.startsWith(expectedApiVersion)
    ) {
      throw badRequest(`apply patch must set apiVersion and kind of a ${type.kind}`);
    }
    if (metadata.name !== name) throw badRequest('the name of the object does not match the URL');
    const current = this.#bucket(type).get(`${namespace}/${name}`);
    if (
      metadata.resourceVersion !== undefined &&
      metadata.resourceVersion !== (current && metadataOf(current.object).resourceVersion)
    ) {
      throw conflict(type.plural, name);
    }
    const live: JsonObject = current
      ? current.object
      : { apiVersion: body.apiVersion, kind: type.kind, metadata: { name, namespace } };
    let result: ReturnType<typeof applyConfiguration>;
    try {
      result = applyConfiguration({
        live,
        applied: body,
        managers: current?.managers ?? [],
        manager: options.manager,
        force: options.force === true,
        apiVersion,
        now: this.#now(),
      });
    } catch (error) {
      if (!(error instanceof ApplyConflictError)) throw error;
      throw new ApiError(409, 'Conflict', error.message, {
        name,
        kind: type.plural,
        causes: error.conflicts.map((c) => ({
          reason: 'FieldManagerConflict',
          message: `conflict with "${c.manager}"`,
          field: `.${c.path.join('.')}`,
        })),
      });
    }
    const object = result.object;
    if (type.statusSubresource) {
      if (current?.object.status === undefined) delete object.status;
      else object.status = clone(current.object.status);
    }
    if (!current) {
      Object.assign(metadataOf(object), {
        namespace,
        uid: randomUUID(),
        creationTimestamp: this.#now(),
        generation: 1,
      });
    }
    return this.#write(type, apiVersion, current, object, result.managers);
  }

  /** A non-apply write of `next`: keeps server-owned fields and respects `/status`. */
  #replace(
    type: ResourceType,
    apiVersion: string,
    current: Stored,
    next: JsonObject,
    options: WriteOptions,
  ): JsonObject {
    let object: JsonObject;
    if (options.subresource === 'status') {
      object = clone(current.object);
      if (next.status === undefined) delete object.status;
      else object.status = next.status;
    } else {
      object = next;
      const metadata = metadataOf(object);
      const old = metadataOf(current.object);
      for (const field of ['name', 'namespace', 'uid', 'creationTimestamp', 'generation']) {
        if (old[field] === undefined) delete metadata[field];
        else metadata[field] = old[field]!;
      }
      if (type.statusSubresource) {
        if (current.object.status === undefined) delete object.status;
        else object.status = clone(current.object.status);
      }
    }
    const scope =
      options.subresource === 'status' ? 'status' : type.statusSubresource ? 'main' : 'all';
    const managers = recordUpdate({
      before: current.object,
      after: object,
      managers: current.managers,
      manager: options.manager,
      scope,
      subresource: options.subresource,
      apiVersion,
      now: this.#now(),
    });
    return this.#write(type, apiVersion, current, object, managers);
  }

  /** Persists unless nothing changed (the real server skips no-op writes: same resourceVersion). */
  #write(
    type: ResourceType,
    apiVersion: string,
    current: Stored | undefined,
    object: JsonObject,
    managers: ManagerEntry[],
  ): JsonObject {
    const metadata = metadataOf(object);
    delete metadata.managedFields;
    if (
      current &&
      deepEqual(withoutVolatile(current.object), withoutVolatile(object)) &&
      sameManagers(current.managers, managers)
    ) {
      return this.#render(type, apiVersion, current);
    }
    if (current) {
      const generation = Number(metadataOf(current.object).generation ?? 1);
      const changed = !deepEqual(specPart(current.object, type), specPart(object, type));
      metadata.generation = changed ? generation + 1 : generation;
    }
    this.#rv += 1;
    metadata.resourceVersion = String(this.#rv);
    const stored: Stored = { object, managers };
    const namespace = (metadata.namespace as string | undefined) ?? '';
    this.#bucket(type).set(`${namespace}/${metadata.name as string}`, stored);
    this.#commit(type, current ? 'MODIFIED' : 'ADDED', stored, current?.object);
    return this.#render(type, apiVersion, stored);
  }

  #commit(type: ResourceType, eventType: EventType, stored: Stored, previous?: JsonObject): void {
    const entry: HistoryEntry = {
      rv: this.#rv,
      key: typeKey(type),
      type: eventType,
      object: stored,
      previous,
    };
    this.#history.push(entry);
    // Trimmed in batches, so a long history costs O(1) per write on average.
    if (this.#history.length > this.#historyLimit * 1.25) {
      const dropped = this.#history.splice(0, this.#history.length - this.#historyLimit);
      this.#compactedRv = dropped.at(-1)!.rv;
    }
    for (const deliver of [...this.#watchers.get(entry.key)!]) deliver(entry);
  }

  #now(): string {
    return this.clock()
      .toISOString()
      .replace(/\.\d+Z$/, 'Z');
  }

  #bucket(type: ResourceType): Map<string, Stored> {
    return this.#objects.get(typeKey(type))!;
  }

  #require(type: ResourceType, namespace: string, name: string): Stored {
    const stored = this.#bucket(type).get(`${type.namespaced ? namespace : ''}/${name}`);
    if (!stored) throw notFound(type.group ? `${type.plural}.${type.group}` : type.plural, name);
    return stored;
  }

  #render(type: ResourceType, apiVersion: string, stored: Stored): JsonObject {
    const object = clone(stored.object);
    object.apiVersion = apiVersion;
    object.kind = type.kind;
    if (stored.managers.length > 0)
      metadataOf(object).managedFields = toManagedFields(stored.managers);
    return object;
  }
}

function keyOf(object: JsonObject): string {
  const metadata = metadataOf(object);
  return `${metadata.namespace ?? ''}/${metadata.name}`;
}
