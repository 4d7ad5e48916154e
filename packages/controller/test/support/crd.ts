import { readFileSync } from 'node:fs';
import { parse as parseCel } from '@marcbachmann/cel-js';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';

// What the API server does with a VSConfig, as far as it can be done without one: prune nulls,
// apply defaults and check the OpenAPI schema (ajv, with the x-kubernetes-* extensions stripped),
// then evaluate every x-kubernetes-validations rule (CEL) with `self` bound to its node.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Schema = { [key: string]: Json };

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  subresources?: Record<string, unknown>;
  additionalPrinterColumns: { name: string; type: string; jsonPath: string }[];
  schema: { openAPIV3Schema: Schema };
}

export interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; shortNames: string[] };
    versions: CrdVersion[];
  };
}

export const crdPath = new URL('../../deploy/crd.yaml', import.meta.url);
export const crd = parseYaml(readFileSync(crdPath, 'utf8')) as Crd;
export const openApiSchema = crd.spec.versions[0]!.schema.openAPIV3Schema;

/** The schema without Kubernetes extensions, which JSON-schema validators do not know. */
export function stripExtensions(node: Json): Json {
  if (Array.isArray(node)) return node.map(stripExtensions);
  if (node === null || typeof node !== 'object') return node;
  const copy: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(node)) {
    if (!key.startsWith('x-kubernetes-')) copy[key] = stripExtensions(value);
  }
  return copy;
}

export interface CelRule {
  /** Property names from the root to the node the rule is attached to. */
  path: string[];
  rule: string;
  message: string;
}

/** Every CEL rule of the schema with the path of its node (`properties` nesting only). */
export function celRules(node: Schema, path: string[] = []): CelRule[] {
  const rules: CelRule[] = [];
  const own = node['x-kubernetes-validations'];
  if (Array.isArray(own)) {
    for (const entry of own as { rule: string; message: string }[]) {
      rules.push({ path, rule: entry.rule, message: entry.message });
    }
  }
  const properties = node.properties as Record<string, Schema> | undefined;
  for (const [name, child] of Object.entries(properties ?? {})) {
    rules.push(...celRules(child, [...path, name]));
  }
  // `[]`: every element of a list.
  const items = node.items as Schema | undefined;
  if (items && typeof items === 'object') rules.push(...celRules(items, [...path, '[]']));
  return rules;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true });
ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) });
ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);

/** The API server prunes `null` from fields that are not `nullable` before defaulting. */
function pruneNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pruneNulls);
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (child !== null) copy[key] = pruneNulls(child);
  }
  return copy;
}

/** Paths of every list with `x-kubernetes-list-type: map`, with its keys. */
function listMaps(node: Schema, path: string[] = []): { path: string[]; keys: string[] }[] {
  const found: { path: string[]; keys: string[] }[] = [];
  if (node['x-kubernetes-list-type'] === 'map') {
    found.push({ path, keys: node['x-kubernetes-list-map-keys'] as string[] });
  }
  for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, Schema>)) {
    found.push(...listMaps(child, [...path, name]));
  }
  const items = node.items as Schema | undefined;
  if (items && typeof items === 'object') found.push(...listMaps(items, [...path, '[]']));
  return found;
}

/** Every node at `path`, `[]` standing for each element of a list. */
function every(value: unknown, path: string[]): unknown[] {
  if (value === undefined) return [];
  if (path.length === 0) return [value];
  const [head, ...rest] = path;
  if (head === '[]') return Array.isArray(value) ? value.flatMap((v) => every(v, rest)) : [];
  if (value === null || typeof value !== 'object') return [];
  return every((value as Record<string, unknown>)[head!], rest);
}

/**
 * A checker for the CRD in `file` (relative to deploy/): why the API server would refuse an object
 * (empty when it would store it). Rules are evaluated with `self` bound to their node; a rule on
 * the root sees only the object's own fields, as on the API server.
 */
export function loadCrd(file: string) {
  const loaded = parseYaml(
    readFileSync(new URL(`../../deploy/${file}`, import.meta.url), 'utf8'),
  ) as Crd;
  const schema = loaded.spec.versions[0]!.schema.openAPIV3Schema;
  const validate = ajv.compile(stripExtensions(schema) as Schema);
  const rules = celRules(schema).map((rule) => ({ ...rule, evaluate: parseCel(rule.rule) }));
  const maps = listMaps(schema);
  function errors(object: unknown): string[] {
    const candidate = pruneNulls(object);
    if (!validate(candidate)) {
      return (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
    }
    const found: string[] = [];
    // Lists of type map: the API server refuses two entries with the same keys.
    for (const map of maps) {
      for (const list of every(candidate, map.path)) {
        if (!Array.isArray(list)) continue;
        const keys = list.map((entry) => JSON.stringify(map.keys.map((k) => entry?.[k])));
        if (new Set(keys).size !== keys.length)
          found.push(`${map.path.join('.')}: duplicate entries`);
      }
    }
    for (const rule of rules) {
      for (const self of every(candidate, rule.path)) {
        if (rule.evaluate({ self }) !== true) found.push(`${rule.path.join('.')}: ${rule.message}`);
      }
    }
    return found;
  }
  return { crd: loaded, openApiSchema: schema, crdErrors: errors };
}

const vsconfigCrd = loadCrd('crd.yaml');

/** Why the API server would refuse `object` as a VSConfig (empty when it would store it). */
export function crdErrors(object: unknown): string[] {
  return vsconfigCrd.crdErrors(object);
}
