import { describe, expect, it } from 'vitest';
import { durableName, leaveSubject, presenceSubject } from '../src/fork-sessions.js';

describe('fork session names', () => {
  it('keeps a plain fork id as it is', () => {
    expect(durableName('billing', 'alice-2')).toBe('billing-fork-alice-2');
  });

  it('writes characters consumer names cannot hold as _ and hex, so names stay distinct', () => {
    expect(durableName('billing', 'a.b')).toBe('billing-fork-a_2eb');
    expect(durableName('billing', 'a_b')).toBe('billing-fork-a_5fb');
    expect(durableName('billing', 'a.b')).not.toBe(durableName('billing', 'a_b'));
  });

  it('names presence subjects after the stream and the baseline consumer', () => {
    expect(presenceSubject('ORDERS', 'billing')).toBe('kubefork.presence.ORDERS.billing');
    expect(leaveSubject('ORDERS', 'billing')).toBe('kubefork.presence.ORDERS.billing.leave');
  });
});
