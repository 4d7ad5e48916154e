import { invalidOption } from './errors.js';
import { checkOptions } from './options.js';

/** Why an inbound value was ignored; passed to `onInvalid`. */
export type InvalidReason =
  /** The value is empty or only whitespace. */
  | 'empty'
  /** Longer than `maxLength`. */
  | 'too-long'
  /** Contains a character no fork id may hold: control characters, non-ASCII, space, comma. */
  | 'characters'
  /** Does not match `pattern`. */
  | 'pattern'
  /** Two different values arrived (duplicate headers, comma-joined values, header vs alias). */
  | 'ambiguous'
  /** Our baggage member could not be decoded (bad percent-encoding). */
  | 'malformed'
  /** The `baggage` header exceeds the W3C limits (8,192 bytes or 180 members). */
  | 'too-large';

export interface ForkOptions {
  /** Header that carries the fork id, in and out. Default `x-fork-identifier`. */
  header?: string;
  /** Extra inbound header names, other spellings of `header` read with it as one list (e.g. the misspelling `x-fork-identifer`). Default `[]`. */
  aliases?: readonly string[];
  /** Key of the W3C baggage member; `null` disables reading and writing baggage. Default `x-fork-identifier`. */
  baggageKey?: string | null;
  /** A valid fork id matches this anchored pattern. Default `/^[A-Za-z0-9][A-Za-z0-9._-]*$/`. */
  pattern?: RegExp;
  /** Longest valid fork id. Default `63`. */
  maxLength?: number;
  /** Outbound calls to a URL for which this returns false carry no fork. Default: every destination. */
  propagateTo?: (url: URL) => boolean;
  /** Told about every inbound value that was ignored. Never called for valid values. Default: nothing. */
  onInvalid?: (value: string, reason: InvalidReason) => void;
}

/** The options in effect, with defaults applied and header names lower-cased. */
export interface ForkConfig {
  readonly header: string;
  readonly aliases: readonly string[];
  readonly baggageKey: string | null;
  readonly pattern: RegExp;
  readonly maxLength: number;
  readonly propagateTo: ((url: URL) => boolean) | undefined;
  readonly onInvalid: ((value: string, reason: InvalidReason) => void) | undefined;
}

export const DEFAULT_HEADER = 'x-fork-identifier';
export const DEFAULT_BAGGAGE_KEY = 'x-fork-identifier';
/** The default rule for a fork id; the controller validates `VSConfig.spec.headerValue` with the same. */
export const DEFAULT_FORK_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const DEFAULT_MAX_LENGTH = 63;
/** Upper bound for `maxLength`: far beyond any sane id, small enough to keep headers bounded. */
const MAX_MAX_LENGTH = 1024;

/** RFC 9110 §5.6.2 token: what a header name (and a W3C baggage key) may consist of. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const KNOWN_OPTIONS = [
  'header',
  'aliases',
  'baggageKey',
  'pattern',
  'maxLength',
  'propagateTo',
  'onInvalid',
] as const;

export const DEFAULT_CONFIG: ForkConfig = Object.freeze({
  header: DEFAULT_HEADER,
  aliases: Object.freeze([]) as readonly string[],
  baggageKey: DEFAULT_BAGGAGE_KEY,
  pattern: DEFAULT_FORK_ID_PATTERN,
  maxLength: DEFAULT_MAX_LENGTH,
  propagateTo: undefined,
  onInvalid: undefined,
});

function headerName(option: string, value: unknown): string {
  if (typeof value !== 'string' || !TOKEN.test(value)) {
    throw invalidOption(option, value, 'an HTTP header name (RFC 9110 token)');
  }
  const name = value.toLowerCase();
  if (name === 'baggage') {
    throw invalidOption(
      option,
      value,
      'a header other than "baggage" (use baggageKey for baggage)',
    );
  }
  return name;
}

/**
 * Validates `options` and returns the resolved configuration. Throws a `TypeError` naming the
 * option and the value for every mistake; unknown options are mistakes too (a typo would
 * otherwise silently keep the default).
 */
export function resolveConfig(options: ForkOptions = {}): ForkConfig {
  checkOptions(options, KNOWN_OPTIONS);
  const {
    header = DEFAULT_HEADER,
    aliases = [],
    baggageKey = DEFAULT_BAGGAGE_KEY,
    pattern = DEFAULT_FORK_ID_PATTERN,
    maxLength = DEFAULT_MAX_LENGTH,
    propagateTo,
    onInvalid,
  } = options;

  const primary = headerName('header', header);
  if (!Array.isArray(aliases)) throw invalidOption('aliases', aliases, 'an array of header names');
  const aliasNames: string[] = [];
  for (const alias of aliases as unknown[]) {
    const name = headerName('aliases', alias);
    if (name !== primary && !aliasNames.includes(name)) aliasNames.push(name);
  }
  if (baggageKey !== null && (typeof baggageKey !== 'string' || !TOKEN.test(baggageKey))) {
    throw invalidOption('baggageKey', baggageKey, 'a W3C baggage key (RFC 9110 token) or null');
  }
  if (!(pattern instanceof RegExp)) throw invalidOption('pattern', pattern, 'a RegExp');
  if (pattern.global || pattern.sticky) {
    // `test` on a /g or /y RegExp is stateful (lastIndex): the same id would alternate valid/invalid.
    throw invalidOption('pattern', pattern, 'a RegExp without the g or y flag');
  }
  if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > MAX_MAX_LENGTH) {
    throw invalidOption('maxLength', maxLength, `an integer from 1 to ${MAX_MAX_LENGTH}`);
  }
  if (propagateTo !== undefined && typeof propagateTo !== 'function') {
    throw invalidOption('propagateTo', propagateTo, 'a function (url: URL) => boolean');
  }
  if (onInvalid !== undefined && typeof onInvalid !== 'function') {
    throw invalidOption(
      'onInvalid',
      onInvalid,
      'a function (value: string, reason: string) => void',
    );
  }
  return Object.freeze({
    header: primary,
    aliases: Object.freeze(aliasNames),
    baggageKey,
    pattern,
    maxLength,
    propagateTo,
    onInvalid,
  });
}
