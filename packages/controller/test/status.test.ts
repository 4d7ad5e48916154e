import { describe, expect, it } from 'vitest';
import type { PlanResult, VSConfig } from '../src/index.js';
import { desiredStatus, statusChanged, statusPatch } from '../src/runtime/status.js';

const accepted: PlanResult = { name: 'a', ready: true, reason: 'Accepted', message: 'routed' };
const duplicate: PlanResult = {
  name: 'a',
  ready: false,
  reason: 'DuplicateHeaderValue',
  message: 'dup',
};

function vsconfig(status?: VSConfig['status'], generation = 2): VSConfig {
  return {
    apiVersion: 'kubefork.dev/v1beta1',
    kind: 'VSConfig',
    metadata: { name: 'a', namespace: 'shop', generation },
    spec: { headerValue: 'alice', host: 'cart', service: 'cart-alice' },
    ...(status ? { status } : {}),
  };
}

const input = { virtualService: 'cart', serviceExists: true, now: '2024-05-01T00:00:00Z' };

describe('desiredStatus', () => {
  it('is Ready with the plan reason, the generation and the VirtualService', () => {
    expect(desiredStatus({ ...input, vsconfig: vsconfig(), result: accepted })).toEqual({
      observedGeneration: 2,
      virtualService: 'cart',
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Accepted',
          message: 'routed',
          observedGeneration: 2,
          lastTransitionTime: '2024-05-01T00:00:00Z',
        },
      ],
    });
  });

  it('is not Ready, reason ServiceNotFound, when the fork Service is missing', () => {
    const status = desiredStatus({
      ...input,
      serviceExists: false,
      vsconfig: vsconfig(),
      result: accepted,
    });
    expect(status.conditions?.[0]).toMatchObject({ status: 'False', reason: 'ServiceNotFound' });
    expect(status.conditions?.[0]?.message).toContain('"cart-alice"');
  });

  it('names no VirtualService for a rejected VSConfig', () => {
    const status = desiredStatus({ ...input, vsconfig: vsconfig(), result: duplicate });
    expect(status.virtualService).toBeUndefined();
    expect(status.conditions?.[0]).toMatchObject({
      status: 'False',
      reason: 'DuplicateHeaderValue',
    });
  });

  it('keeps lastTransitionTime while the condition status stays the same', () => {
    const before = desiredStatus({ ...input, vsconfig: vsconfig(), result: duplicate });
    const later = { ...input, now: '2024-06-01T00:00:00Z' };
    const notFound = desiredStatus({
      ...later,
      vsconfig: vsconfig(before),
      result: { ...duplicate, reason: 'Invalid' },
    });
    expect(notFound.conditions?.[0]?.lastTransitionTime).toBe('2024-05-01T00:00:00Z');
    const ready = desiredStatus({ ...later, vsconfig: vsconfig(before), result: accepted });
    expect(ready.conditions?.[0]?.lastTransitionTime).toBe('2024-06-01T00:00:00Z');
  });

  it('keeps conditions of other types', () => {
    const other = {
      type: 'Reviewed',
      status: 'True' as const,
      reason: 'Ok',
      message: '',
      lastTransitionTime: input.now,
    };
    const status = desiredStatus({
      ...input,
      vsconfig: vsconfig({ conditions: [other] }),
      result: accepted,
    });
    expect(status.conditions?.map((c) => c.type)).toEqual(['Ready', 'Reviewed']);
  });
});

describe('statusChanged', () => {
  it('is false for the same status computed again later', () => {
    const first = desiredStatus({ ...input, vsconfig: vsconfig(), result: accepted });
    const again = desiredStatus({
      ...input,
      now: '2030-01-01T00:00:00Z',
      vsconfig: vsconfig(first),
      result: accepted,
    });
    expect(statusChanged(first, again)).toBe(false);
  });

  it('is true when the generation moved on', () => {
    const first = desiredStatus({ ...input, vsconfig: vsconfig(), result: accepted });
    const next = desiredStatus({ ...input, vsconfig: vsconfig(first, 3), result: accepted });
    expect(statusChanged(first, next)).toBe(true);
  });
});

it('statusPatch clears fields the desired status does not have', () => {
  const status = desiredStatus({ ...input, vsconfig: vsconfig(), result: duplicate });
  expect(statusPatch(status).status).toMatchObject({ virtualService: null, observedGeneration: 2 });
});
