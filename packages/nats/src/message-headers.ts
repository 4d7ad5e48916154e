import type { HeadersLike } from '@kubefork/context';
import type { HeaderAccess } from '@kubefork/context/integration';
import { headers, Match, type MsgHdrs } from '@nats-io/nats-core';

/**
 * How the core reads and writes outbound NATS headers. nats.js keeps header names as written
 * and matches them exactly by default; ours are matched without case, as in HTTP, so a fork
 * header the caller wrote as `X-Fork-Identifier` is the same header, and `set` leaves one
 * spelling behind.
 */
export const headersAccess: HeaderAccess<MsgHdrs> = {
  get(carrier, name) {
    const values = carrier.values(name, Match.IgnoreCase);
    return values.length === 0 ? undefined : values.join(', ');
  },
  set(carrier, name, value) {
    carrier.set(name, value, Match.IgnoreCase);
  },
};

/** Header objects this package made, so that a nested call (request → publish) adds once. */
const made = new WeakSet<MsgHdrs>();

export function isOurs(carrier: MsgHdrs | undefined): boolean {
  return carrier !== undefined && made.has(carrier);
}

/**
 * A fresh header set holding everything `given` holds: the caller's object is never written to,
 * since one `MsgHdrs` is often reused for many messages and a fork written into it would follow
 * later messages as an explicit value.
 */
export function copyOf(given: MsgHdrs | undefined): MsgHdrs {
  const copy = headers();
  if (given !== undefined) {
    for (const key of given.keys()) {
      for (const value of given.values(key)) copy.append(key, value);
    }
  }
  made.add(copy);
  return copy;
}

/**
 * A message's headers as the core's `extractForkId` reads them: looked up by name without
 * case, every value of every spelling joined as an HTTP list (so two different values, or two
 * spellings with different values, are ambiguous). Only the names the core asks for are read.
 */
export function inboundCarrier(carrier: MsgHdrs): HeadersLike {
  return {
    get(name) {
      const values = carrier.values(name, Match.IgnoreCase);
      return values.length === 0 ? null : values.join(', ');
    },
    forEach(callback) {
      for (const key of carrier.keys()) callback(carrier.values(key).join(', '), key);
    },
  };
}
