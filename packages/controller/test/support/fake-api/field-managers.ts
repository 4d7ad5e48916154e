// Server-side apply field ownership, reduced to what a controller can observe:
// https://kubernetes.io/docs/reference/using-api/server-side-apply/
// - fields are leaves; maps are walked key by key, lists and scalars are atomic leaves (the
//   default for CRDs without list-type markers, and what Istio's VirtualService schema uses);
// - an apply that sets a field another manager owns with a different value is a conflict (409)
//   unless `force=true`, which moves ownership to the applier;
// - fields the applier owned and no longer applies are removed, unless another manager owns them;
// - a non-apply write (PUT, merge patch) takes ownership of the fields it changed.
import { clone, deepEqual, isObject, type Json, type JsonObject } from './json.js';

export interface ManagerEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  subresource?: string;
  /** Leaf paths, each `JSON.stringify(string[])`. */
  fields: Set<string>;
}

export interface FieldConflict {
  manager: string;
  path: string[];
}

/** Thrown when an apply without `force` would take a field another manager set differently. */
export class ApplyConflictError extends Error {
  override name = 'ApplyConflictError';
  constructor(readonly conflicts: FieldConflict[]) {
    const list = conflicts.map((c) => `conflict with "${c.manager}": .${c.path.join('.')}`);
    super(`Apply failed with ${conflicts.length} conflict(s): ${list.join('; ')}`);
  }
}

/** Fields the API server owns itself: never tracked, never applied. */
const SERVER_FIELDS = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'managedFields',
  'selfLink',
  'generateName',
]);

export type FieldScope = 'main' | 'status' | 'all';

function tracked(path: string[], scope: FieldScope): boolean {
  const [first, second] = path;
  if (first === 'apiVersion' || first === 'kind') return false;
  if (first === 'metadata' && second !== undefined && SERVER_FIELDS.has(second)) return false;
  if (scope === 'main') return first !== 'status';
  if (scope === 'status') return first === 'status';
  return true;
}

/** Every leaf of `value` with its path: objects are walked, lists and scalars are leaves. */
export function leafPaths(value: Json | undefined, scope: FieldScope): Map<string, Json> {
  const leaves = new Map<string, Json>();
  const walk = (node: Json, path: string[]): void => {
    if (isObject(node) && Object.keys(node).length > 0) {
      for (const [key, child] of Object.entries(node)) walk(child, [...path, key]);
    } else if (path.length > 0 && tracked(path, scope)) {
      leaves.set(JSON.stringify(path), node);
    }
  };
  if (value !== undefined) walk(value, []);
  return leaves;
}

export function getPath(value: Json | undefined, path: string[]): Json | undefined {
  let node: Json | undefined = value;
  for (const key of path) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

function setPath(target: JsonObject, path: string[], value: Json): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (!isObject(next)) node[key] = {};
    node = node[key] as JsonObject;
  }
  node[path.at(-1)!] = clone(value);
}

/** Deletes a leaf and prunes the maps it leaves empty. */
function deletePath(target: JsonObject, path: string[]): void {
  const parents: JsonObject[] = [];
  let node: Json | undefined = target;
  for (const key of path.slice(0, -1)) {
    if (!isObject(node)) return;
    parents.push(node);
    node = node[key];
  }
  if (!isObject(node)) return;
  delete node[path.at(-1)!];
  for (let i = parents.length - 1; i >= 0; i -= 1) {
    const child = parents[i]![path[i]!];
    const isMetadata = i === 0 && path[0] === 'metadata';
    if (isObject(child) && Object.keys(child).length === 0 && !isMetadata) {
      delete parents[i]![path[i]!];
    }
  }
}

function overlaps(a: string[], b: string[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

function findEntry(
  managers: ManagerEntry[],
  manager: string,
  operation: ManagerEntry['operation'],
  subresource: string | undefined,
): ManagerEntry | undefined {
  return managers.find(
    (m) => m.manager === manager && m.operation === operation && m.subresource === subresource,
  );
}

export interface ApplyInput {
  live: JsonObject;
  applied: JsonObject;
  managers: ManagerEntry[];
  manager: string;
  force: boolean;
  apiVersion: string;
  now: string;
}

/** Server-side apply of `applied` onto `live`; returns the new object and ownership. */
export function applyConfiguration(input: ApplyInput): {
  object: JsonObject;
  managers: ManagerEntry[];
} {
  const { live, applied, manager, force, apiVersion, now } = input;
  const managers = input.managers.map((m) => ({ ...m, fields: new Set(m.fields) }));
  const appliedLeaves = leafPaths(applied, 'main');
  const appliedPaths = [...appliedLeaves.keys()].map((key) => JSON.parse(key) as string[]);

  const conflicts: FieldConflict[] = [];
  const toRelease: { entry: ManagerEntry; field: string }[] = [];
  for (const entry of managers) {
    if (entry.manager === manager) continue;
    for (const field of entry.fields) {
      const path = JSON.parse(field) as string[];
      if (!appliedPaths.some((applies) => overlaps(applies, path))) continue;
      if (deepEqual(getPath(live, path), getPath(applied, path))) continue;
      conflicts.push({ manager: entry.manager, path });
      toRelease.push({ entry, field });
    }
  }
  if (conflicts.length > 0 && !force) throw new ApplyConflictError(conflicts);
  for (const { entry, field } of toRelease) entry.fields.delete(field);

  const object = clone(live);
  const previous = findEntry(managers, manager, 'Apply', undefined);
  for (const field of previous?.fields ?? []) {
    if (appliedLeaves.has(field)) continue;
    const path = JSON.parse(field) as string[];
    const sharedWith = managers.some(
      (m) => m !== previous && [...m.fields].some((f) => overlaps(JSON.parse(f) as string[], path)),
    );
    if (!sharedWith) deletePath(object, path);
  }
  for (const [field, value] of appliedLeaves) setPath(object, JSON.parse(field) as string[], value);

  const entry = previous ?? { manager, operation: 'Apply' as const, apiVersion, time: now };
  const next = managers.filter((m) => m !== previous && m.fields.size > 0);
  next.push({ ...entry, apiVersion, time: now, fields: new Set(appliedLeaves.keys()) });
  return { object, managers: next };
}

export interface UpdateInput {
  before: Json | undefined;
  after: Json;
  managers: ManagerEntry[];
  manager: string;
  scope: FieldScope;
  subresource?: string;
  apiVersion: string;
  now: string;
}

/** Ownership after a non-apply write: the writer takes every field it added or changed. */
export function recordUpdate(input: UpdateInput): ManagerEntry[] {
  const { before, after, manager, scope, subresource, apiVersion, now } = input;
  const oldLeaves = leafPaths(before, scope);
  const newLeaves = leafPaths(after, scope);
  const changed = [...newLeaves]
    .filter(([k, v]) => !deepEqual(oldLeaves.get(k), v))
    .map(([k]) => k);
  const removed = [...oldLeaves.keys()].filter((key) => !newLeaves.has(key));
  const touched = [...changed, ...removed].map((key) => JSON.parse(key) as string[]);

  const managers = input.managers.map((m) => ({ ...m, fields: new Set(m.fields) }));
  for (const entry of managers) {
    for (const field of entry.fields) {
      const path = JSON.parse(field) as string[];
      if (!newLeaves.has(field) || touched.some((t) => overlaps(t, path))) {
        if (tracked(path, scope)) entry.fields.delete(field);
      }
    }
  }
  let entry = findEntry(managers, manager, 'Update', subresource);
  if (changed.length > 0) {
    if (!entry) {
      entry = { manager, operation: 'Update', apiVersion, time: now, fields: new Set() };
      if (subresource) entry.subresource = subresource;
      managers.push(entry);
    }
    entry.time = now;
    for (const field of changed) entry.fields.add(field);
  }
  return managers.filter((m) => m.fields.size > 0);
}

/** Renders ownership the way the API server shows it in `metadata.managedFields` (FieldsV1). */
export function toManagedFields(managers: ManagerEntry[]): Json[] {
  return managers.map((m) => {
    const fieldsV1: JsonObject = {};
    for (const field of m.fields) {
      let node = fieldsV1;
      for (const key of JSON.parse(field) as string[]) {
        const name = `f:${key}`;
        if (!isObject(node[name])) node[name] = {};
        node = node[name] as JsonObject;
      }
    }
    const rendered: JsonObject = {
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
      time: m.time,
      fieldsType: 'FieldsV1',
      fieldsV1,
    };
    if (m.subresource) rendered.subresource = m.subresource;
    return rendered;
  });
}
