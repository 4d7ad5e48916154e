import { isTrusted } from '@kubefork/context/integration';
import { forkIdOfHeaders } from './headers.js';

/** A consumed message as far as this package reads it: its headers. */
export interface ForkMessage {
  readonly headers?: unknown;
}

/** A `trust` option: only a synchronous `true` trusts a message's fork. */
export type Trust = (message: ForkMessage) => boolean;

/**
 * The fork a message is handled in: its headers' fork when trusted and valid, else undefined
 * (baseline, and `onInvalid` told about an invalid value). Never throws.
 */
export function forkIdOfMessage(message: unknown, trust: Trust | undefined): string | undefined {
  if (message === null || typeof message !== 'object') return undefined;
  if (!isTrusted(trust, message as ForkMessage)) return undefined;
  let headers: unknown;
  try {
    headers = (message as ForkMessage).headers;
  } catch {
    return undefined;
  }
  return forkIdOfHeaders(headers);
}
