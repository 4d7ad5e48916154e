import { ERR_INVALID_OPTION } from '@kubefork/context';

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

function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}
