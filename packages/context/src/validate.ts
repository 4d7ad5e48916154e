import type { ForkConfig, InvalidReason } from './config.js';
import { ignoreOutcome, isThenable } from './settle.js';
import { state } from './store.js';

/**
 * Characters any fork id must consist of, whatever `pattern` says: visible ASCII except the comma
 * (the list separator of joined header values). A custom pattern can only narrow this, so a fork
 * id can never inject a header line, a second list element or bytes Node would refuse to send.
 */
const SAFE = /^[\x21-\x2b\x2d-\x7e]+$/;
const WHITESPACE = /^[\s]*$/;

/** Why `value` is not a valid fork id under `config`, or `undefined` when it is valid. */
export function invalidReason(value: string, config: ForkConfig): InvalidReason | undefined {
  if (value.length === 0) return 'empty';
  if (value.length > config.maxLength) return 'too-long';
  if (!SAFE.test(value)) return WHITESPACE.test(value) ? 'empty' : 'characters';
  if (!config.pattern.test(value)) return 'pattern';
  return undefined;
}

/**
 * True when `value` is a fork id the current configuration accepts (length, characters, pattern).
 * Pure: never calls `onInvalid`.
 */
export function isValidForkId(value: unknown): value is string {
  return typeof value === 'string' && invalidReason(value, state.config) === undefined;
}

/** Longest value handed to `onInvalid`: hostile inputs can be kilobytes long. */
const REPORT_LIMIT = 256;

/**
 * Tells `onInvalid`, if any. A throwing callback (or an async one that rejects) must not turn bad
 * input into a failed request or a crashed process.
 */
export function reportInvalid(config: ForkConfig, value: string, reason: InvalidReason): void {
  const onInvalid = config.onInvalid;
  if (onInvalid === undefined) return;
  try {
    const result: unknown = onInvalid(
      value.length > REPORT_LIMIT ? value.slice(0, REPORT_LIMIT) : value,
      reason,
    );
    if (isThenable(result)) ignoreOutcome(result);
  } catch {
    // Deliberately ignored: reporting is best effort and must never fail the request.
  }
}

/**
 * Tells the configured `onInvalid` about an inbound value an integration refused by itself
 * (e.g. a gRPC `-bin` key): value cut to 256 characters, a throwing callback ignored.
 */
export function reportInvalidValue(value: string, reason: InvalidReason): void {
  reportInvalid(state.config, value, reason);
}
