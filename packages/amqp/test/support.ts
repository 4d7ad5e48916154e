// Helpers shared by the amqp suites: reading what reached the broker, waiting for deliveries.
import type { Channel, GetMessage } from 'amqplib';
import { expect } from 'vitest';

export const H = 'x-fork-identifier';

/** Fetches the next message of `queue` with an unwrapped channel: what really went over the wire. */
export async function receive(channel: Channel, queue: string): Promise<GetMessage> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const message = await channel.get(queue, { noAck: true });
    if (message !== false) return message;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no message arrived on ${queue}`);
}

/** Every value under `name` in a header table, across differently cased keys. */
export function valuesOf(headers: Record<string, unknown> | undefined, name: string): unknown[] {
  return Object.entries(headers ?? {})
    .filter(([key]) => key.toLowerCase() === name)
    .map(([, value]) => value);
}

/** Members of our key in a baggage value. */
export function forkMembers(baggage: unknown): string[] {
  if (typeof baggage !== 'string') return [];
  return baggage
    .split(',')
    .map((member) => member.trim())
    .filter((member) => member.split('=')[0] === H);
}

/** The message carries `id` in the fork header once and as our baggage member once. */
export function expectForkOnce(headers: Record<string, unknown> | undefined, id: string): void {
  expect(valuesOf(headers, H)).toEqual([id]);
  const baggage = valuesOf(headers, 'baggage');
  expect(baggage).toHaveLength(1);
  expect(forkMembers(baggage[0])).toEqual([`${H}=${id}`]);
}

/** The message carries nothing of ours. */
export function expectNoFork(headers: Record<string, unknown> | undefined): void {
  expect(valuesOf(headers, H)).toEqual([]);
  expect(valuesOf(headers, 'baggage').flatMap(forkMembers)).toEqual([]);
}

/** Resolves once `count()` reaches `target`; rejects after `timeoutMs`. */
export async function until(
  condition: () => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
