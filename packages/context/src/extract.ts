import { lookupBaggage } from './baggage.js';
import type { ForkConfig } from './config.js';
import { type HeaderBag, readHeader } from './headers.js';
import { state } from './store.js';
import { invalidReason, reportInvalid } from './validate.js';

/** HTTP list-element whitespace (RFC 9110 §5.6.1): spaces and horizontal tabs. */
const OWS = /^[ \t]+|[ \t]+$/g;

function trimOws(text: string): string {
  const first = text.charCodeAt(0);
  const last = text.charCodeAt(text.length - 1);
  // 0x20 space, 0x09 tab: skip the regex in the common, already-trimmed case.
  return first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09
    ? text.replace(OWS, '')
    : text;
}

/**
 * Reads the fork id of an inbound request from its headers.
 *
 * Precedence: the configured `header` together with its aliases (read as one list: an alias is
 * another spelling of the header), then the member `baggageKey` of the W3C `baggage` header.
 * The first of these that is present decides; a lower one is never
 * consulted as a fallback for a present but invalid higher one (that would change routing
 * silently). In the header, duplicates with equal values count once and different values are
 * ambiguous; in baggage, a second member with our key is ambiguous whatever its value.
 *
 * Returns `undefined` for absent, invalid or ambiguous values and tells `onInvalid` why.
 * Never throws.
 *
 * @example
 * configure({ aliases: ['x-fork-identifer'] });
 * extractForkId({ 'x-fork-identifer': 'alice' }); // 'alice'
 * extractForkId({ 'x-fork-identifier': ['alice', 'bob'] }); // undefined, onInvalid(…, 'ambiguous')
 */
export function extractForkId(headers: HeaderBag): string | undefined {
  const config = state.config;
  try {
    return extract(headers, config);
  } catch {
    // A hostile carrier (throwing getter, proxy) is treated as carrying no fork.
    return undefined;
  }
}

function extract(headers: HeaderBag, config: ForkConfig): string | undefined {
  if (headers === null || typeof headers !== 'object') return undefined;
  let raw = readHeader(headers, config.header);
  for (const alias of config.aliases) {
    const more = readHeader(headers, alias);
    if (more !== undefined) raw = raw === undefined ? more : raw.concat(more);
  }
  if (raw !== undefined) return decide(raw, config, true);

  if (config.baggageKey === null) return undefined;
  const baggage = readHeader(headers, 'baggage');
  if (baggage === undefined) return undefined;
  const found = lookupBaggage(baggage.join(','), config.baggageKey);
  switch (found.kind) {
    case 'absent':
      return undefined;
    case 'found':
      // Our key twice is ambiguous even with equal values: the mesh cannot compare two members
      // within Istio's 1,024-character regex limit, and the two must decide alike.
      if (found.values.length > 1) {
        reportInvalid(config, found.values.join(', '), 'ambiguous');
        return undefined;
      }
      return decide(found.values, config, false);
    case 'malformed':
      reportInvalid(config, found.raw, 'malformed');
      return undefined;
    case 'too-large':
      reportInvalid(config, found.raw, 'too-large');
      return undefined;
  }
}

/**
 * One fork id from raw values, or undefined. `isList`: the header's values form one comma-separated
 * list, as Envoy sees them joined with "," (so `["", "alice"]` reads like `", alice"`), and each
 * element is trimmed of optional whitespace. Baggage values are single, already trimmed and
 * decoded members: whitespace that remains is part of the value.
 */
function decide(raw: readonly string[], config: ForkConfig, isList: boolean): string | undefined {
  let parts = raw;
  if (isList) {
    const list = raw.length === 1 ? raw[0]! : raw.join(',');
    parts = list.includes(',') ? list.split(',') : [list];
  }
  let chosen: string | undefined;
  let items = 0;
  for (const part of parts) {
    const item = isList ? trimOws(part) : part;
    // Empty list elements ("a, , b") are ignored (RFC 9110 §5.6.1) unless nothing else is there.
    if (isList && item === '' && parts.length > 1) continue;
    items++;
    const reason = invalidReason(item, config);
    if (reason !== undefined) {
      reportInvalid(config, item, reason);
      return undefined;
    }
    if (chosen === undefined) chosen = item;
    else if (chosen !== item) {
      reportInvalid(config, raw.join(', '), 'ambiguous');
      return undefined;
    }
  }
  if (items === 0) reportInvalid(config, raw.join(', '), 'empty');
  return chosen;
}
