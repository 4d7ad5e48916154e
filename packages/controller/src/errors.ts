// The controller's setup mistakes read like every other kubefork package's:
// `kubefork: option "X" must be …; received …`, a `TypeError` with the code
// `ERR_KUBEFORK_INVALID_OPTION`. A copy of `invalidOption` of @kubefork/context/integration
// (packages/context/src/errors.ts), kept here so that the planner (`@kubefork/controller/plan`)
// loads nothing of the SDK; test/option-errors.test.ts fails the moment the two differ.

/** Stable code of every option error, so callers can branch on `error.code` rather than on messages. */
export const ERR_INVALID_OPTION = 'ERR_KUBEFORK_INVALID_OPTION';

/** A `TypeError` with a stable `code`; thrown only for programmer mistakes. */
class KubeforkTypeError extends TypeError {
  readonly code: string;

  constructor(message: string, code: string) {
    super(message);
    this.name = 'TypeError';
    this.code = code;
  }
}

/** Renders a received value for an error message: short, single line, type visible. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (value instanceof RegExp) return String(value);
  if (Array.isArray(value)) return `[${value.map(describeValue).join(', ')}]`;
  if (value === null) return 'null';
  if (typeof value === 'object') return `[object ${value.constructor?.name ?? 'Object'}]`;
  return String(value);
}

/**
 * The `TypeError` for a mistake in what the caller passed (to `planHost`, `planFork`, `render`,
 * `startController`), never for bad VSConfigs or Forks: those become `Invalid` results.
 *
 * @example
 * throw invalidOption('namespace', 'Shop', 'a namespace name (DNS-1123 label)');
 * // TypeError: kubefork: option "namespace" must be a namespace name (DNS-1123 label); received "Shop"
 */
export function invalidOption(option: string, value: unknown, expected: string): TypeError {
  return new KubeforkTypeError(
    `kubefork: option "${option}" must be ${expected}; received ${describeValue(value)}`,
    ERR_INVALID_OPTION,
  );
}

/**
 * Throws `invalidOption` for the first key of `options` that is not in `known`: a misspelt option
 * would otherwise silently keep its default. `path` prefixes the name, e.g. `leaderElection.`.
 */
export function checkKnownOptions(options: object, known: readonly string[], path = ''): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw invalidOption(
        `${path}${key}`,
        (options as Record<string, unknown>)[key],
        `one of: ${known.join(', ')} (unknown option)`,
      );
    }
  }
}
