import { describe, expect, it } from 'vitest';
import { planFork } from '../src/fork-plan.js';
import { forkDeadline } from '../src/fork-ttl.js';
import {
  desiredForkStatus,
  forkStatusChanged,
  forkStatusPatch,
} from '../src/runtime/fork-status.js';
import { deployment, fork, service } from './support/fork-fixtures.js';

const preview = {
  domain: 'preview.example.com',
  gateway: 'istio-system/preview',
  entry: 'web/frontend',
};
const services = [service('cart', { app: 'cart' })];
const deployments = [deployment('cart', { app: 'cart' })];
const NOW = Date.parse('2026-12-01T11:00:00Z');

function statusOf(
  target = fork('alice', [{ name: 'cart' }, { name: 'ghost' }]),
  previewInPlace = true,
) {
  const plan = planFork({ fork: target, forks: [target], services, deployments, preview });
  return desiredForkStatus({
    fork: target,
    plan,
    deadline: forkDeadline(target, 7 * 86_400_000, NOW),
    readyReplicas: (name) => (name === 'cart-alice' ? 1 : 0),
    previewInPlace,
    now: '2026-12-01T11:00:00Z',
  });
}

describe('desiredForkStatus', () => {
  it('lists what was made per service, or why not, with the deadline and preview URL', () => {
    expect(statusOf()).toEqual({
      observedGeneration: 1,
      forkId: 'alice',
      expiresAt: '2026-12-01T18:00:00Z',
      clock: { startedAt: '2026-12-01T10:00:00Z', ttl: '8h' },
      previewURL: 'https://alice.preview.example.com/',
      services: [
        {
          name: 'cart',
          deployment: 'cart-alice',
          service: 'cart-alice',
          vsConfig: 'cart-alice',
          readyReplicas: 1,
        },
        {
          name: 'ghost',
          reason: 'ServiceNotFound',
          message: 'Service "ghost" does not exist in this namespace.',
        },
      ],
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'ServiceNotFound',
          message: 'ghost: Service "ghost" does not exist in this namespace.',
          lastTransitionTime: '2026-12-01T11:00:00Z',
          observedGeneration: 1,
        },
      ],
    });
  });

  it('reports PreviewInUse and no URL when the preview host belongs to someone else', () => {
    const status = statusOf(fork('alice', [{ name: 'cart' }]), false);
    expect(status.previewURL).toBeUndefined();
    expect(status.conditions?.[0]).toMatchObject({ status: 'False', reason: 'PreviewInUse' });
  });

  it('keeps lastTransitionTime while Ready keeps its status, and then writes nothing', () => {
    const target = fork('alice', [{ name: 'cart' }]);
    const first = statusOf(target);
    target.status = {
      ...first,
      conditions: first.conditions!.map((c) => ({
        ...c,
        lastTransitionTime: '2026-12-01T10:00:01Z',
      })),
    };
    const second = statusOf(target);
    expect(second.conditions?.[0]?.lastTransitionTime).toBe('2026-12-01T10:00:01Z');
    expect(forkStatusChanged(target.status, second)).toBe(false);
    expect(forkStatusChanged(undefined, second)).toBe(true);
  });

  it('patches absent fields to null so a merge patch removes them', () => {
    const status = statusOf(fork('alice', [{ name: 'cart' }]), false);
    expect(forkStatusPatch(status).status).toMatchObject({ previewURL: null, forkId: 'alice' });
  });
});
