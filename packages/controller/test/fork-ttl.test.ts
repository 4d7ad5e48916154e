import { describe, expect, it } from 'vitest';
import { forkDeadline, parseDuration } from '../src/fork-ttl.js';
import { fork } from './support/fork-fixtures.js';

const HOUR = 3_600_000;
const created = '2026-12-01T10:00:00Z';
const createdMs = Date.parse(created);
const WEEK = 168 * HOUR;

describe('parseDuration', () => {
  it.each([
    ['8h', 8 * HOUR],
    ['90m', 90 * 60_000],
    ['1h30m', 90 * 60_000],
    ['2d', 48 * HOUR],
    ['45s', 45_000],
  ])('reads %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '0h', '0m0s', '8', 'h', '1.5h', '-1h', '8H', ' 8h', 8])('rejects %s', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('forkDeadline', () => {
  it('counts 8h from creation by default', () => {
    const target = fork('alice', [{ name: 'cart' }], { created });
    const deadline = forkDeadline(target, WEEK, createdMs + 1000);
    expect(deadline.expiresAt).toBe(createdMs + 8 * HOUR);
    expect(deadline.clock).toEqual({ startedAt: created, ttl: '8h' });
  });

  it('caps the TTL at the controller maximum', () => {
    const target = fork('alice', [{ name: 'cart' }], { created, ttl: '30d' });
    expect(forkDeadline(target, WEEK, createdMs).expiresAt).toBe(createdMs + WEEK);
  });

  it('keeps the clock while spec.ttl and the annotation stay as they were', () => {
    const target = fork('alice', [{ name: 'cart' }], { created, ttl: '2h' });
    target.status = { clock: { startedAt: '2026-12-01T11:00:00Z', ttl: '2h' } };
    const later = Date.parse('2026-12-01T12:30:00Z');
    expect(forkDeadline(target, WEEK, later).expiresAt).toBe(Date.parse('2026-12-01T13:00:00Z'));
  });

  it('restarts the clock when spec.ttl changes', () => {
    const target = fork('alice', [{ name: 'cart' }], { created, ttl: '3h' });
    target.status = { clock: { startedAt: created, ttl: '2h' } };
    const now = Date.parse('2026-12-01T11:30:00Z');
    const deadline = forkDeadline(target, WEEK, now);
    expect(deadline.expiresAt).toBe(now + 3 * HOUR);
    expect(deadline.clock).toEqual({ startedAt: '2026-12-01T11:30:00Z', ttl: '3h' });
  });

  it('restarts the clock when the extend-at annotation changes, and not again after', () => {
    const target = fork('alice', [{ name: 'cart' }], { created, ttl: '1h' });
    target.status = { clock: { startedAt: created, ttl: '1h' } };
    target.metadata.annotations = { 'kubefork.dev/extend-at': 'now-please' };
    const now = Date.parse('2026-12-01T10:50:00Z');
    const first = forkDeadline(target, WEEK, now);
    expect(first.expiresAt).toBe(now + HOUR);
    target.status = { clock: first.clock };
    expect(forkDeadline(target, WEEK, now + 30 * 60_000).expiresAt).toBe(now + HOUR);
  });

  it('does not let an annotation present at creation extend a new Fork', () => {
    const target = fork('alice', [{ name: 'cart' }], { created, ttl: '1h' });
    target.metadata.annotations = { 'kubefork.dev/extend-at': 'x' };
    expect(forkDeadline(target, WEEK, createdMs + 5 * HOUR).expiresAt).toBe(createdMs + HOUR);
  });
});
