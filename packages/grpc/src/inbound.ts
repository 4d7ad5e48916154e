import type { Metadata } from '@grpc/grpc-js';
import { extractForkId, type ForkConfig } from '@kubefork/context';
import { forkConfig, isTrusted, reportInvalidValue } from '@kubefork/context/integration';
import { isString, textValues } from './metadata.js';
import type { ServerSettings } from './options.js';

/** The metadata keys one configuration reads, computed once per `configure()`. */
interface Keys {
  readonly config: ForkConfig;
  /** What the core reads: the header, the `baggage` entry (unless disabled), the aliases. */
  readonly text: readonly string[];
  /** `<header>-bin` and `<alias>-bin`: our fork id in binary form, reported but never read. */
  readonly binary: readonly string[];
}

let cached: Keys | undefined;

function keysOf(config: ForkConfig): Keys {
  if (cached?.config !== config) {
    const names = [config.header, ...config.aliases];
    cached = {
      config,
      text: config.baggageKey === null ? names : [config.header, 'baggage', ...config.aliases],
      binary: names.filter((name) => !name.endsWith('-bin')).map((name) => `${name}-bin`),
    };
  }
  return cached;
}

/**
 * A fork id sent as binary metadata (`x-fork-identifier-bin`) is never read: the mesh routes
 * on the text header, so accepting it here would give a call a fork it is not routed to. It is
 * reported, though, because a client sending it would otherwise lose its fork silently.
 */
function reportBinary(config: ForkConfig, keys: Keys, metadata: Metadata): void {
  if (config.onInvalid === undefined) return;
  for (const key of keys.binary) {
    const values = metadata.get(key);
    if (values.length === 0) continue;
    // The wire form (base64): printable and safe to log, whatever the bytes are.
    const shown = values
      .map((value) => (isString(value) ? value : value.toString('base64')))
      .join(', ');
    reportInvalidValue(shown, 'malformed');
  }
}

/**
 * The fork id carried by inbound `metadata`, or undefined. The core decides (header, then
 * aliases, then the `baggage` member; validation; `onInvalid`); this only hands it a carrier
 * with the keys it reads. Metadata keys are lower-case (grpc-js normalises them and HTTP/2
 * forbids upper case, RFC 9113 §8.2.1), so a key the client wrote in other case is the same
 * key, and a second value under it makes the fork ambiguous. Never throws.
 */
export function forkIdFromMetadata(metadata: Metadata): string | undefined {
  const config = forkConfig();
  const keys = keysOf(config);
  reportBinary(config, keys, metadata);
  let carrier: Map<string, string[]> | undefined;
  for (const name of keys.text) {
    const values = textValues(metadata, name);
    if (values === undefined) continue;
    carrier ??= new Map();
    carrier.set(name, values);
  }
  return carrier === undefined ? undefined : extractForkId(carrier);
}

/** The fork id a call runs in: the inbound one when trusted and valid, else undefined. */
export function inboundForkId(
  settings: ServerSettings,
  metadata: Metadata,
  path: string,
): string | undefined {
  return isTrusted(settings.trust, metadata, path) ? forkIdFromMetadata(metadata) : undefined;
}
