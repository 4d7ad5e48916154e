// A thin layer over node:util parseArgs: the options every command takes (kubectl's names), and
// parse errors turned into usage errors (exit 2) instead of TypeErrors with a stack.
import { parseArgs } from 'node:util';
import { usageError } from './errors.js';

type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };

/** `--kubeconfig`, `--context`, `-n/--namespace`, `-h/--help`: accepted by every command. */
export const COMMON_OPTIONS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Record<string, OptionSpec>;

/** `-o/--output table|json|yaml`: accepted by every command that reads. */
export const OUTPUT_OPTION = {
  output: { type: 'string', short: 'o' },
} as const satisfies Record<string, OptionSpec>;

export const COMMON_USAGE = `Common options:
  -n, --namespace NS     namespace (default: the context's namespace, else "default")
      --context NAME     kubeconfig context to use (default: the current context)
      --kubeconfig FILE  kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)
  -h, --help             show this help`;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parse(args: readonly string[], options: Record<string, OptionSpec>): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { ...COMMON_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Parsed['values'], positionals };
  } catch (error) {
    throw usageError((error as Error).message);
  }
}

export type OutputFormat = 'table' | 'json' | 'yaml';

/** The `-o` value, checked. */
export function outputFormat(value: unknown): OutputFormat {
  if (value === undefined) return 'table';
  if (value === 'table' || value === 'json' || value === 'yaml') return value;
  throw usageError(`-o must be table, json or yaml, not "${String(value)}"`);
}

export function stringValue(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function listValue(value: unknown): string[] {
  return Array.isArray(value) ? (value as string[]) : [];
}
