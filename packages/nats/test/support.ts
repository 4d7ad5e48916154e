// Helpers shared by the nats suites.
import type { MsgHdrs } from '@nats-io/nats-core';
import { expect } from 'vitest';

export const H = 'x-fork-identifier';

/** Every value under `name`, across differently cased names. */
export function valuesOf(headers: MsgHdrs | undefined, name: string): string[] {
  if (headers === undefined) return [];
  return headers.keys().flatMap((key) => (key.toLowerCase() === name ? headers.values(key) : []));
}

export function forkMembers(baggage: string): string[] {
  return baggage
    .split(',')
    .map((member) => member.trim())
    .filter((member) => member.split('=')[0] === H);
}

/** The message carries `id` in the fork header once and as our baggage member once. */
export function expectForkOnce(headers: MsgHdrs | undefined, id: string): void {
  expect(valuesOf(headers, H)).toEqual([id]);
  const baggage = valuesOf(headers, 'baggage');
  expect(baggage).toHaveLength(1);
  expect(forkMembers(baggage[0] ?? '')).toEqual([`${H}=${id}`]);
}

export function expectNoFork(headers: MsgHdrs | undefined): void {
  expect(valuesOf(headers, H)).toEqual([]);
  expect(valuesOf(headers, 'baggage').flatMap(forkMembers)).toEqual([]);
}

export async function until(condition: () => boolean, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
