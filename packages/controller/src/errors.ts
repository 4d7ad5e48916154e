import { ERR_INVALID_OPTION } from '@kubefork/context/integration';

/**
 * A `TypeError` for a programmer mistake in what was passed to `planHost` (never for bad
 * VSConfigs: those become `Invalid` results). Carries the same stable `code` as the SDK's.
 */
export function invalidInput(option: string, value: unknown, expected: string): TypeError {
  const error = new TypeError(
    `kubefork: ${option} must be ${expected}; received ${describe(value)}`,
  ) as TypeError & { code: string };
  error.code = ERR_INVALID_OPTION;
  return error;
}

/**
 * Throws `invalidInput` for the first key of `options` that is not in `known`: a misspelt option
 * would otherwise silently keep its default. `path` prefixes the name, e.g. `leaderElection.`.
 */
export function checkKnownOptions(options: object, known: readonly string[], path = ''): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw invalidInput(
        `${path}${key}`,
        (options as Record<string, unknown>)[key],
        `one of: ${known.join(', ')} (unknown option)`,
      );
    }
  }
}

/** Code-unit order: the same in every locale, with any ICU data, on every Node version. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}
