import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

// `yaml` is loaded on first use, not with the module: it takes longer to load (≈ 65 ms cold) than
// the rest of the planner together, and `planHost` and `matchRoute` never need it
// (bench/controller-import.bench.ts). `require` keeps the callers synchronous; Node resolves
// `yaml` to the same CommonJS build for `import` and `require`.
const require = createRequire(import.meta.url);
let loaded: typeof Yaml | undefined;

/** The `yaml` package, loaded on the first call. */
export function yaml(): typeof Yaml {
  loaded ??= require('yaml') as typeof Yaml;
  return loaded;
}

/**
 * Whether `text`, written as a plain (unquoted) scalar, reads back as this very string under both
 * YAML 1.1 (kubectl: sigs.k8s.io/yaml on go-yaml v2) and YAML 1.2. YAML 1.1 takes `on`, `no`,
 * `y`, `1_000`, `0b101`, `190_20`, `1:20`, `2001-12-14`, `~` … for booleans, numbers, dates or
 * null; YAML 1.2 takes `0o17`. A string that fails to parse, or parses as anything else, is
 * quoted.
 */
function readsBackPlain(text: string): boolean {
  const { parse } = yaml();
  for (const version of ['1.1', '1.2'] as const) {
    try {
      if (parse(text, { version }) !== text) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * `value` as one YAML document that every YAML reader, 1.1 (kubectl, Helm, go-yaml v2) and 1.2
 * alike, reads back as `value`: each string, key or value, that a reader could take as another
 * type is double-quoted. No line folding. Use it for anything written for kubectl.
 *
 * @example
 * stringifyYaml({ metadata: { namespace: 'no' }, spec: { value: '1_000' } });
 * // 'metadata:\n  namespace: "no"\nspec:\n  value: "1_000"\n'
 */
export function stringifyYaml(value: unknown): string {
  const { Document, visit } = yaml();
  const document = new Document(value, { version: '1.1' });
  visit(document, {
    Scalar(_, node) {
      if (
        typeof node.value === 'string' &&
        node.type === undefined &&
        !readsBackPlain(node.value)
      ) {
        node.type = 'QUOTE_DOUBLE';
      }
    },
  });
  return document.toString({ lineWidth: 0 });
}
