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
  return rules;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true });
ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) });
ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
const validateSchema = ajv.compile(stripExtensions(openApiSchema) as Schema);
const compiledRules = celRules(openApiSchema).map((rule) => ({
  ...rule,
  evaluate: parseCel(rule.rule),
}));

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

function at(value: unknown, path: string[]): unknown {
  let node = value;
  for (const name of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[name];
  }
  return node;
}

/** Why the API server would refuse `object` (empty when it would store it). */
export function crdErrors(object: unknown): string[] {
  const candidate = pruneNulls(object);
  if (!validateSchema(candidate)) {
    return (validateSchema.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
  }
  const errors: string[] = [];
  for (const rule of compiledRules) {
    const self = at(candidate, rule.path);
    if (self === undefined) continue;
    if (rule.evaluate({ self }) !== true) errors.push(`${rule.path.join('.')}: ${rule.message}`);
  }
  return errors;
}
