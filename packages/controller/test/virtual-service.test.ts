import { describe, expect, it } from 'vitest';
import {
  isAdoptableVirtualService,
  isManagedVirtualService,
  planHost,
  type VirtualService,
  virtualServiceHosts,
} from '../src/index.js';
import { foreignVirtualService, vsconfig } from './support/fixtures.js';

function withHosts(hosts: string[], namespace = 'shop'): VirtualService {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'VirtualService',
    metadata: { name: 'vs', namespace },
    spec: { hosts },
  };
}

describe('virtualServiceHosts', () => {
  it('reads the host label of a managed VirtualService', () => {
    const { virtualService } = planHost({
      namespace: 'shop',
      host: 'cart',
      vsconfigs: [vsconfig({ name: 'a' })],
    });
    expect(virtualServiceHosts(virtualService!)).toEqual([{ namespace: 'shop', host: 'cart' }]);
  });

  it('reads every spelling of a Service of its own namespace, once each', () => {
    const vs = withHosts(['cart', 'pay.shop', 'cart.shop.svc', 'ship.shop.svc.cluster.local']);
    expect(virtualServiceHosts(vs)).toEqual([
      { namespace: 'shop', host: 'cart' },
      { namespace: 'shop', host: 'pay' },
      { namespace: 'shop', host: 'ship' },
    ]);
  });

  it('skips wildcards, other namespaces and hosts outside the cluster', () => {
    const vs = withHosts(['*', '*.shop.svc.cluster.local', 'cart.other', 'shop.example.com']);
    expect(virtualServiceHosts(vs)).toEqual([]);
  });

  it('honours another cluster domain', () => {
    const vs = withHosts(['cart.shop.svc.corp.example', 'pay.shop.svc.cluster.local']);
    expect(virtualServiceHosts(vs, 'corp.example')).toEqual([{ namespace: 'shop', host: 'cart' }]);
  });

  it('returns nothing for a VirtualService without namespace', () => {
    const vs = withHosts(['cart']);
    delete vs.metadata.namespace;
    expect(virtualServiceHosts(vs)).toEqual([]);
  });
});

describe('isManagedVirtualService and isAdoptableVirtualService', () => {
  it('tells a managed VirtualService by its managed-by label', () => {
    const { virtualService } = planHost({
      namespace: 'shop',
      host: 'cart',
      vsconfigs: [vsconfig({ name: 'a' })],
    });
    expect(isManagedVirtualService(virtualService!)).toBe(true);
    expect(isManagedVirtualService(foreignVirtualService())).toBe(false);
  });

  it('adopts only on the annotation value "true"', () => {
    expect(isAdoptableVirtualService(foreignVirtualService({ 'kubefork.dev/adopt': 'true' }))).toBe(
      true,
    );
    expect(isAdoptableVirtualService(foreignVirtualService({ 'kubefork.dev/adopt': 'True' }))).toBe(
      false,
    );
    expect(isAdoptableVirtualService(foreignVirtualService())).toBe(false);
  });
});
