// The fake API server is only worth what it shares with the real one: these tests pin the
// behaviours the controller relies on, driven through the real @kubernetes/client-node.
import {
  ApiException,
  CoordinationV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeApiServer } from './support/fake-api/server.js';

const VSC = { group: 'kubefork.dev', version: 'v1beta1', plural: 'vsconfigs' } as const;
const VS = { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices' } as const;
const applyPatch = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    managedFields?: { manager: string; operation: string }[];
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

let server: FakeApiServer;
let custom: CustomObjectsApi;

beforeEach(async () => {
  server = await FakeApiServer.start({ bookmarkIntervalMs: 50 });
  custom = server.kubeConfig().makeApiClient(CustomObjectsApi);
});

afterEach(async () => {
  await server.close();
});

function vsconfig(
  name: string,
  spec: Record<string, unknown> = {},
  labels?: Record<string, string>,
) {
  return {
    apiVersion: 'kubefork.dev/v1beta1',
    kind: 'VSConfig',
    metadata: { name, ...(labels ? { labels } : {}) },
    spec: { headerValue: name, host: 'svc', service: `svc-${name}`, ...spec },
  };
}

async function create(
  name: string,
  spec?: Record<string, unknown>,
  labels?: Record<string, string>,
) {
  return (await custom.createNamespacedCustomObject({
    ...VSC,
    namespace: 'ns',
    body: vsconfig(name, spec, labels),
  })) as Obj;
}

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
}

describe('objects', () => {
  it('gives every write a higher resourceVersion', async () => {
    const a = await create('a');
    const b = await create('b');
    expect(Number(b.metadata.resourceVersion)).toBeGreaterThan(Number(a.metadata.resourceVersion));
  });

  it('bumps generation on a spec change and not on a label change', async () => {
    await create('a');
    const labelled = (await custom.patchNamespacedCustomObject(
      { ...VSC, namespace: 'ns', name: 'a', body: { metadata: { labels: { team: 'x' } } } },
      mergePatch,
    )) as Obj;
    expect(labelled.metadata.generation).toBe(1);
    const changed = (await custom.patchNamespacedCustomObject(
      { ...VSC, namespace: 'ns', name: 'a', body: { spec: { headerValue: 'b' } } },
      mergePatch,
    )) as Obj;
    expect(changed.metadata.generation).toBe(2);
  });

  it('changes status only through /status and never bumps generation for it', async () => {
    await create('a');
    const ignored = (await custom.patchNamespacedCustomObject(
      { ...VSC, namespace: 'ns', name: 'a', body: { status: { observedGeneration: 9 } } },
      mergePatch,
    )) as Obj;
    expect(ignored.status).toBeUndefined();
    const written = (await custom.patchNamespacedCustomObjectStatus(
      { ...VSC, namespace: 'ns', name: 'a', body: { status: { observedGeneration: 1 } } },
      mergePatch,
    )) as Obj;
    expect(written.status).toEqual({ observedGeneration: 1 });
    expect(written.metadata.generation).toBe(1);
  });

  it('answers 409 to a replace with a stale resourceVersion', async () => {
    const stale = await create('a');
    await custom.patchNamespacedCustomObject(
      { ...VSC, namespace: 'ns', name: 'a', body: { spec: { headerValue: 'b' } } },
      mergePatch,
    );
    const replace = custom.replaceNamespacedCustomObject({
      ...VSC,
      namespace: 'ns',
      name: 'a',
      body: stale,
    });
    expect(await statusOf(replace)).toBe(409);
  });

  it('skips a write that changes nothing (same resourceVersion, no event)', async () => {
    const created = await create('a');
    const same = (await custom.patchNamespacedCustomObject(
      { ...VSC, namespace: 'ns', name: 'a', body: { spec: { headerValue: 'a' } } },
      mergePatch,
    )) as Obj;
    expect(same.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
  });

  it('answers 404 for a missing object and 409 for a duplicate create', async () => {
    expect(
      await statusOf(custom.getNamespacedCustomObject({ ...VSC, namespace: 'ns', name: 'x' })),
    ).toBe(404);
    await create('a');
    expect(await statusOf(create('a'))).toBe(409);
  });

  it('deletes only when the preconditions still hold', async () => {
    const created = await create('a');
    await custom.patchNamespacedCustomObject(
      { ...VSC, namespace: 'ns', name: 'a', body: { spec: { headerValue: 'b' } } },
      mergePatch,
    );
    const stale = custom.deleteNamespacedCustomObject({
      ...VSC,
      namespace: 'ns',
      name: 'a',
      body: { preconditions: { resourceVersion: created.metadata.resourceVersion } },
    });
    expect(await statusOf(stale)).toBe(409);
    expect(
      await statusOf(custom.deleteNamespacedCustomObject({ ...VSC, namespace: 'ns', name: 'a' })),
    ).toBe(200);
  });
});

describe('server-side apply', () => {
  const virtualService = (http: unknown[], extra: Record<string, unknown> = {}) => ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'svc', namespace: 'ns', labels: { owner: 'kubefork' } },
    spec: { hosts: ['svc'], http, ...extra },
  });
  const apply = (body: unknown, fieldManager: string, force?: boolean) =>
    custom.patchNamespacedCustomObject(
      {
        ...VS,
        namespace: 'ns',
        name: 'svc',
        body,
        fieldManager,
        ...(force === undefined ? {} : { force }),
      },
      applyPatch,
    ) as Promise<Obj>;

  it('creates the object and records the field manager', async () => {
    const created = await apply(virtualService([{ name: 'a' }]), 'kubefork', true);
    expect(created.metadata.generation).toBe(1);
    expect(created.metadata.managedFields).toEqual([
      expect.objectContaining({ manager: 'kubefork', operation: 'Apply' }),
    ]);
  });

  it('replaces lists atomically', async () => {
    await apply(virtualService([{ name: 'a' }, { name: 'b' }]), 'kubefork');
    const applied = await apply(virtualService([{ name: 'c' }]), 'kubefork');
    expect(applied.spec?.http).toEqual([{ name: 'c' }]);
  });

  it('removes fields the manager stops applying', async () => {
    await apply(virtualService([{ name: 'a' }], { gateways: ['mesh'] }), 'kubefork');
    const applied = await apply(virtualService([{ name: 'a' }]), 'kubefork');
    expect(applied.spec).not.toHaveProperty('gateways');
  });

  it('keeps fields another manager owns', async () => {
    await apply(virtualService([{ name: 'a' }]), 'kubefork');
    await custom.patchNamespacedCustomObject(
      {
        ...VS,
        namespace: 'ns',
        name: 'svc',
        body: { spec: { gateways: ['mesh'] } },
        fieldManager: 'kubectl-edit',
      },
      mergePatch,
    );
    const applied = await apply(virtualService([{ name: 'b' }]), 'kubefork');
    expect(applied.spec?.gateways).toEqual(['mesh']);
  });

  it('answers 409 when another manager changed an applied field, unless forced', async () => {
    await apply(virtualService([{ name: 'a' }]), 'kubefork');
    await custom.patchNamespacedCustomObject(
      {
        ...VS,
        namespace: 'ns',
        name: 'svc',
        body: { spec: { http: [{ name: 'edited' }] } },
        fieldManager: 'kubectl-edit',
      },
      mergePatch,
    );
    expect(await statusOf(apply(virtualService([{ name: 'a' }]), 'kubefork'))).toBe(409);
    const forced = await apply(virtualService([{ name: 'a' }]), 'kubefork', true);
    expect(forced.spec?.http).toEqual([{ name: 'a' }]);
  });

  it('requires a fieldManager', async () => {
    const body = virtualService([]);
    const request = custom.patchNamespacedCustomObject(
      { ...VS, namespace: 'ns', name: 'svc', body },
      applyPatch,
    );
    expect(await statusOf(request)).toBe(422);
  });
});

describe('lists and watches', () => {
  it('filters lists with equality and set-based label selectors', async () => {
    await create('a', {}, { team: 'x', tier: 'web' });
    await create('b', {}, { team: 'y' });
    await create('c', {});
    const names = async (labelSelector: string) => {
      const list = (await custom.listClusterCustomObject({ ...VSC, labelSelector })) as {
        items: Obj[];
      };
      return list.items.map((item) => item.metadata.name);
    };
    expect(await names('team=x')).toEqual(['a']);
    expect(await names('team in (x,y),!tier')).toEqual(['b']);
    expect(await names('team!=x')).toEqual(['b', 'c']);
  });

  it('streams events after the listed resourceVersion, with bookmarks', async () => {
    await create('a');
    const list = (await custom.listNamespacedCustomObject({ ...VSC, namespace: 'ns' })) as {
      metadata: { resourceVersion: string };
    };
    const events: string[] = [];
    const watch = new Watch(server.kubeConfig());
    const request = await watch.watch(
      '/apis/kubefork.dev/v1beta1/namespaces/ns/vsconfigs',
      { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true },
      (type, object: Obj) => events.push(`${type} ${object.metadata.name ?? ''}`),
      () => {},
    );
    await create('b');
    await expect.poll(() => events).toEqual(expect.arrayContaining(['ADDED b', 'BOOKMARK ']));
    expect(events).not.toContain('ADDED a');
    request.abort();
  });

  it('reports an expired resourceVersion as an ERROR event with code 410, then closes', async () => {
    const created = await create('a');
    await create('b');
    server.store.compact();
    const events: unknown[] = [];
    const done = new Promise((resolve) => {
      void new Watch(server.kubeConfig()).watch(
        '/apis/kubefork.dev/v1beta1/namespaces/ns/vsconfigs',
        { resourceVersion: created.metadata.resourceVersion },
        (type, object: { code?: number }) => events.push([type, object.code]),
        resolve,
      );
    });
    expect(await done).toBeNull();
    expect(events).toEqual([['ERROR', 410]]);
  });

  it('sends a DELETED event when an object stops matching the watch selector', async () => {
    await create('a', {}, { team: 'x' });
    const events: string[] = [];
    const request = await new Watch(server.kubeConfig()).watch(
      '/apis/kubefork.dev/v1beta1/vsconfigs',
      { labelSelector: 'team=x' },
      (type, object: Obj) => events.push(`${type} ${object.metadata.name}`),
      () => {},
    );
    await custom.patchNamespacedCustomObject(
      { ...VSC, namespace: 'ns', name: 'a', body: { metadata: { labels: { team: 'y' } } } },
      mergePatch,
    );
    await expect.poll(() => events).toEqual(['ADDED a', 'DELETED a']);
    request.abort();
  });

  it('ends open watches on demand, which the client sees as a clean close', async () => {
    const done = new Promise((resolve) => {
      void new Watch(server.kubeConfig()).watch(
        '/apis/kubefork.dev/v1beta1/vsconfigs',
        {},
        () => {},
        resolve,
      );
    });
    await expect.poll(() => server.openWatches().length).toBe(1);
    expect(server.closeWatches()).toBe(1);
    expect(await done).toBeNull();
  });
});

describe('leases and faults', () => {
  it('serves Leases with optimistic concurrency', async () => {
    const leases = server.kubeConfig().makeApiClient(CoordinationV1Api);
    const body = {
      metadata: { name: 'lock' },
      spec: { holderIdentity: 'a', leaseDurationSeconds: 15 },
    };
    const created = await leases.createNamespacedLease({ namespace: 'ns', body });
    await leases.replaceNamespacedLease({ namespace: 'ns', name: 'lock', body: created });
    const stale = leases.replaceNamespacedLease({ namespace: 'ns', name: 'lock', body: created });
    expect(await statusOf(stale)).toBe(409);
  });

  it('answers injected faults the given number of times, then recovers', async () => {
    server.inject({ match: (r) => r.verb === 'create', status: 500, times: 2 });
    expect(await statusOf(create('a'))).toBe(500);
    expect(await statusOf(create('a'))).toBe(500);
    expect(await statusOf(create('a'))).toBe(200);
  });

  it('delays matching requests', async () => {
    server.inject({ match: (r) => r.verb === 'list', delayMs: 200, times: 1 });
    const started = performance.now();
    await custom.listClusterCustomObject({ ...VSC });
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('drops the connection of matching requests', async () => {
    server.inject({ match: (r) => r.verb === 'get', drop: true, times: 1 });
    await expect(
      custom.getNamespacedCustomObject({ ...VSC, namespace: 'ns', name: 'a' }),
    ).rejects.toThrow(/socket hang up|ECONNRESET/);
  });
});
