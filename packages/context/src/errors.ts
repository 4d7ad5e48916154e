/** Stable error codes, so callers can branch on `error.code` rather than on messages. */
export const ERR_INVALID_OPTION = 'ERR_KUBEFORK_INVALID_OPTION';
export const ERR_INVALID_FORK_ID = 'ERR_KUBEFORK_INVALID_FORK_ID';

/** A `TypeError` with a stable `code`; thrown only for programmer mistakes, never on the request path. */
export class KubeforkTypeError extends TypeError {
  readonly code: string;

  constructor(message: string, code: string) {
    super(message);
    this.name = 'TypeError';
    this.code = code;
  }
}

/** Renders a received value for an error message: short, single line, type visible. */
export function describeValue(value: unknown): string {
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
 * The `TypeError` (code `ERR_KUBEFORK_INVALID_OPTION`) every kubefork integration throws for a
 * setup mistake, naming the option, what it must be and the value received, so that all
 * packages report mistakes the same way.
 *
 * @example
 * if (trust !== undefined && typeof trust !== 'function') {
 *   throw invalidOption('trust', trust, 'a function (request) => boolean');
 * }
 * // TypeError: kubefork: option "trust" must be a function (request) => boolean; received true
 */
export function invalidOption(option: string, value: unknown, expected: string): KubeforkTypeError {
  return new KubeforkTypeError(
    `kubefork: option "${option}" must be ${expected}; received ${describeValue(value)}`,
    ERR_INVALID_OPTION,
  );
}
