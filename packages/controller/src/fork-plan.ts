import {
  APPLIED_HASH_ANNOTATION,
  DEFAULT_CLUSTER_DOMAIN,
  DEFAULT_MAX_FORKS_PER_NAMESPACE,
  FORK_API_VERSION,
  FORK_ID_ENV,
  FORK_KIND,
  FORK_LABEL,
  FORK_OWNER_ANNOTATION,
  FORK_SERVICE_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  PREVIEW_NAME_PREFIX,
  ROUTE_NAME_PREFIX,
  VIRTUAL_SERVICE_API_VERSION,
  VIRTUAL_SERVICE_KIND,
  VSCONFIG_API_VERSION,
  VSCONFIG_KIND,
} from './constants.js';
import { invalidOption } from './errors.js';
import { DEFAULT_HEADER } from './fork-id-rules.js';
import { copyName, forkedLabelValue, labelValue, nameSegment, shortHash } from './fork-names.js';
import type {
  Container,
  Deployment,
  Fork,
  ForkPlan,
  ForkReason,
  ForkServicePlan,
  OwnerReference,
  PlanForkInput,
  PreviewOptions,
  Service,
} from './fork-types.js';
import { checkFork, type ValidFork } from './fork-validate.js';
import { serviceFqdn } from './routes.js';
import { compareText } from './text.js';
import type { ObjectMeta, VirtualService, VSConfig } from './types.js';
import { DNS_1035_LABEL, DNS_1123_LABEL, DNS_1123_SUBDOMAIN } from './validate.js';

/** Labels under this prefix are kubefork's: a Service selecting on them is not baseline. */
const KUBEFORK_PREFIX = 'kubefork.dev/';

/** Whether `selector` (non-empty) matches `labels`. */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
) {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

/** Made by a Fork: kubefork's label is on it. Such objects are never baseline. */
export function isForkObject(object: { metadata?: ObjectMeta }): boolean {
  return typeof object.metadata?.labels?.[FORK_LABEL] === 'string';
}

/** The Services whose selectors a fork pod must never match: every Service not made by a Fork. */
function baselineServices(services: readonly Service[]): Service[] {
  return services.filter((service) => {
    const selector = service.spec?.selector ?? {};
    return (
      !isForkObject(service) &&
      Object.keys(selector).length > 0 &&
      !Object.keys(selector).some((key) => key.startsWith(KUBEFORK_PREFIX))
    );
  });
}

interface Settings {
  allowedImagePrefixes: string[];
  maxForks: number;
  preview: PreviewOptions | undefined;
  clusterDomain: string;
}

/** Checks the controller's settings; mistakes throw a TypeError naming the option. */
export function readForkSettings(
  input: Omit<PlanForkInput, 'fork' | 'forks' | 'services' | 'deployments'>,
): Settings {
  const {
    allowedImagePrefixes = [],
    maxForksPerNamespace = DEFAULT_MAX_FORKS_PER_NAMESPACE,
    preview,
    clusterDomain = DEFAULT_CLUSTER_DOMAIN,
  } = input;
  if (
    !Array.isArray(allowedImagePrefixes) ||
    allowedImagePrefixes.some((p) => typeof p !== 'string' || p.length === 0)
  ) {
    throw invalidOption(
      'allowedImagePrefixes',
      allowedImagePrefixes,
      'an array of non-empty image prefixes',
    );
  }
  if (!Number.isInteger(maxForksPerNamespace) || maxForksPerNamespace < 1) {
    throw invalidOption('maxForksPerNamespace', maxForksPerNamespace, 'a positive integer');
  }
  if (typeof clusterDomain !== 'string' || !DNS_1123_SUBDOMAIN.test(clusterDomain)) {
    throw invalidOption('clusterDomain', clusterDomain, 'a DNS name such as "cluster.local"');
  }
  if (preview !== undefined) {
    if (typeof preview !== 'object' || preview === null) {
      throw invalidOption('preview', preview, 'an object with domain, gateway and entry');
    }
    const { domain, gateway, entry } = preview;
    // A dot, and not a cluster name: the VSConfig reconciler must never mistake a preview host
    // for a Service of the entry's namespace (`name.namespace`, `name.namespace.svc…`).
    if (
      typeof domain !== 'string' ||
      domain.length > 200 ||
      !DNS_1123_SUBDOMAIN.test(domain) ||
      !domain.includes('.') ||
      domain.endsWith('.svc') ||
      domain.includes('.svc.')
    ) {
      throw invalidOption(
        'preview.domain',
        domain,
        'a DNS domain with a dot, e.g. "preview.example.com"',
      );
    }
    const [gatewayNs, gatewayName, ...restG] =
      typeof gateway === 'string' ? gateway.split('/') : [];
    if (
      !gatewayNs ||
      !gatewayName ||
      restG.length > 0 ||
      !DNS_1123_LABEL.test(gatewayNs) ||
      !DNS_1123_SUBDOMAIN.test(gatewayName)
    ) {
      throw invalidOption(
        'preview.gateway',
        gateway,
        '"<namespace>/<gateway name>", e.g. "istio-system/preview"',
      );
    }
    const [entryNs, entryName, ...restE] = typeof entry === 'string' ? entry.split('/') : [];
    if (
      !entryNs ||
      !entryName ||
      restE.length > 0 ||
      !DNS_1123_LABEL.test(entryNs) ||
      !DNS_1035_LABEL.test(entryName)
    ) {
      throw invalidOption('preview.entry', entry, '"<namespace>/<service>", e.g. "web/frontend"');
    }
  }
  return {
    allowedImagePrefixes: [...allowedImagePrefixes],
    maxForks: maxForksPerNamespace,
    preview,
    clusterDomain,
  };
}

function created(fork: Fork): number {
  const time = Date.parse(String(fork.metadata.creationTimestamp ?? ''));
  return Number.isNaN(time) ? Number.POSITIVE_INFINITY : time;
}

/** Oldest first, then by name: the order in which Forks of a namespace claim ids and quota. */
function compareAge(a: Fork, b: Fork): number {
  return created(a) - created(b) || compareText(a.metadata.name ?? '', b.metadata.name ?? '');
}

/** Whether `fork` may have its fork id and a quota slot: `undefined` when it may. */
function admission(
  fork: Fork,
  forkId: string,
  forks: readonly Fork[],
  maxForks: number,
): { reason: ForkReason; message: string } | undefined {
  const ownName = fork.metadata.name;
  const peers = forks
    .filter((peer) => peer.metadata.name !== ownName && !peer.metadata.deletionTimestamp)
    .concat([fork])
    .sort(compareAge);
  const ids = new Map<string, string>();
  for (const peer of peers) {
    const checked = peer === fork ? { ok: true as const, fork: { forkId } } : checkFork(peer);
    if (!checked.ok) continue;
    const id = checked.fork.forkId;
    const holder = ids.get(id);
    if (peer === fork) {
      if (holder !== undefined) {
        return {
          reason: 'ForkIdInUse',
          message: `Fork id "${id}" is already used by the older Fork "${holder}" of this namespace; pick another spec.forkId.`,
        };
      }
      if (ids.size >= maxForks) {
        return {
          reason: 'QuotaExceeded',
          message: `This namespace already has ${ids.size} older Forks, the most the controller allows (--max-forks-per-namespace ${maxForks}); delete one.`,
        };
      }
      return undefined;
    }
    if (holder === undefined) ids.set(id, peer.metadata.name ?? '');
  }
  return undefined;
}

function ownerReferences(fork: Fork): OwnerReference[] | undefined {
  const { name, uid } = fork.metadata;
  if (typeof uid !== 'string' || typeof name !== 'string') return undefined;
  return [
    {
      apiVersion: FORK_API_VERSION,
      kind: FORK_KIND,
      name,
      uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ];
}

/** Fresh metadata for something `fork` makes; the hash annotation is added by `sealed`. */
function ownedMetadata(
  name: string,
  namespace: string,
  labels: Record<string, string>,
  owners: OwnerReference[] | undefined,
): ObjectMeta {
  const metadata: ObjectMeta = {
    name,
    namespace,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, ...labels },
  };
  if (owners) metadata.ownerReferences = owners;
  return metadata;
}

/** `object` with an annotation holding a hash of everything else: a changed plan changes the hash. */
function sealed<T extends { metadata: ObjectMeta }>(object: T): T {
  const hash = shortHash(JSON.stringify(object));
  object.metadata.annotations = { ...object.metadata.annotations, [APPLIED_HASH_ANNOTATION]: hash };
  return object;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/**
 * The copy's pod labels: the original's, with every label a baseline Service (or the original
 * Deployment) selects on given a fork value, plus kubefork's two labels. Afterwards no baseline
 * Service selects them; should a rewritten value happen to match another selector, that
 * selector's labels are dropped.
 */
export function forkPodLabels(
  original: Deployment,
  baseline: readonly Service[],
  forkId: string,
  own: Record<string, string>,
): Record<string, string> {
  const labels: Record<string, string> = { ...(original.spec?.template?.metadata?.labels ?? {}) };
  const keys = new Set<string>(Object.keys(original.spec?.selector?.matchLabels ?? {}));
  for (const service of baseline) {
    if (selects(service.spec?.selector, labels)) {
      for (const key of Object.keys(service.spec?.selector ?? {})) keys.add(key);
    }
  }
  for (const key of [...keys].sort()) {
    if (key in labels && !key.startsWith(KUBEFORK_PREFIX))
      labels[key] = forkedLabelValue(labels[key]!, forkId);
  }
  Object.assign(labels, own);
  for (const service of baseline) {
    if (!selects(service.spec?.selector, labels)) continue;
    for (const key of Object.keys(service.spec?.selector ?? {})) delete labels[key];
  }
  return labels;
}

function withEnv(container: Container, env: { name: string; value: string }[]): Container {
  const next = (container.env ?? []).map((variable) => {
    const override = env.find((e) => e.name === variable.name);
    return override ? { name: override.name, value: override.value } : variable;
  });
  for (const variable of env) {
    if (!next.some((e) => e.name === variable.name))
      next.push({ name: variable.name, value: variable.value });
  }
  return { ...container, env: next };
}

function deploymentCopy(
  fork: Fork,
  valid: ValidFork,
  entry: ValidFork['services'][number],
  original: Deployment,
  baseline: readonly Service[],
  podLabels: Record<string, string>,
  target: string | undefined,
): Deployment {
  const namespace = fork.metadata.namespace ?? '';
  const forkId = valid.forkId;
  const spec = clone(original.spec ?? {});
  const template = spec.template ?? {};
  const podSpec = template.spec ?? {};
  const idEnv = [{ name: FORK_ID_ENV, value: forkId }];
  podSpec.containers = (podSpec.containers ?? []).map((container) => {
    let next: Container = container;
    if (container.name === target) {
      if (entry.image !== undefined) next = { ...next, image: entry.image };
      if (entry.env) next = withEnv(next, entry.env);
    }
    return withEnv(next, idEnv);
  });
  if (podSpec.initContainers)
    podSpec.initContainers = podSpec.initContainers.map((c) => withEnv(c, idEnv));
  const templateMetadata: ObjectMeta = {
    labels: forkPodLabels(original, baseline, forkId, podLabels),
  };
  const annotations = template.metadata?.annotations;
  if (annotations && Object.keys(annotations).length > 0)
    templateMetadata.annotations = { ...annotations };
  spec.template = { ...template, metadata: templateMetadata, spec: podSpec };
  spec.replicas = entry.replicas;
  // The copy's own selector: immutable once created, so it must never depend on baseline labels.
  spec.selector = { matchLabels: { ...podLabels } };
  const name = copyName(original.metadata.name ?? '', forkId);
  return sealed({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: ownedMetadata(name, namespace, podLabels, ownerReferences(fork)),
    spec,
  });
}

function serviceCopy(
  fork: Fork,
  forkId: string,
  original: Service,
  podLabels: Record<string, string>,
): Service {
  const namespace = fork.metadata.namespace ?? '';
  const ports = (original.spec?.ports ?? []).map((port) => {
    const copy: Record<string, unknown> = { port: port.port };
    for (const field of ['name', 'protocol', 'targetPort', 'appProtocol'] as const) {
      if (port[field] !== undefined && port[field] !== null) copy[field] = port[field];
    }
    return copy as Service['spec'] & { port: number };
  });
  return sealed({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedMetadata(
      copyName(original.metadata.name ?? '', forkId),
      namespace,
      podLabels,
      ownerReferences(fork),
    ),
    spec: { type: 'ClusterIP', selector: { ...podLabels }, ports: ports as never },
  });
}

function vsConfigFor(
  fork: Fork,
  forkId: string,
  host: string,
  service: string,
  podLabels: Record<string, string>,
): VSConfig {
  return sealed({
    apiVersion: VSCONFIG_API_VERSION,
    kind: VSCONFIG_KIND,
    metadata: ownedMetadata(
      service,
      fork.metadata.namespace ?? '',
      podLabels,
      ownerReferences(fork),
    ),
    spec: { headerValue: forkId, host, service },
  });
}

/** The name of the preview VirtualService of `forkId`. */
export function previewName(forkId: string): string {
  return `${PREVIEW_NAME_PREFIX}${nameSegment(forkId)}`;
}

/** The host of the preview URL of `forkId` under `domain`. */
export function previewHost(forkId: string, domain: string): string {
  return `${nameSegment(forkId)}.${domain}`;
}

function previewVirtualService(
  fork: Fork,
  forkId: string,
  preview: PreviewOptions,
  clusterDomain: string,
): VirtualService {
  const [entryNamespace, entry] = preview.entry.split('/') as [string, string];
  const ownNamespace = fork.metadata.namespace ?? '';
  const metadata = ownedMetadata(
    previewName(forkId),
    entryNamespace,
    { [FORK_LABEL]: labelValue(forkId) },
    // An owner must live in the same namespace; elsewhere the controller deletes it itself.
    entryNamespace === ownNamespace ? ownerReferences(fork) : undefined,
  );
  metadata.annotations = { [FORK_OWNER_ANNOTATION]: `${ownNamespace}/${fork.metadata.name ?? ''}` };
  return sealed({
    apiVersion: VIRTUAL_SERVICE_API_VERSION,
    kind: VIRTUAL_SERVICE_KIND,
    metadata,
    spec: {
      hosts: [previewHost(forkId, preview.domain)],
      gateways: [preview.gateway],
      http: [
        {
          name: `${ROUTE_NAME_PREFIX}preview`,
          headers: { request: { set: { [DEFAULT_HEADER]: forkId } } },
          route: [{ destination: { host: serviceFqdn(entry, entryNamespace, clusterDomain) } }],
        },
      ],
    },
  });
}

function planService(
  fork: Fork,
  valid: ValidFork,
  entry: ValidFork['services'][number],
  input: PlanForkInput,
  settings: Settings,
): ForkServicePlan {
  const { name } = entry;
  const fail = (reason: ForkReason, message: string): ForkServicePlan => ({
    name,
    ok: false,
    reason,
    message,
  });
  const service = input.services.find((s) => s.metadata.name === name);
  if (!service || isForkObject(service)) {
    return fail('ServiceNotFound', `Service "${name}" does not exist in this namespace.`);
  }
  const selector = service.spec?.selector ?? {};
  const candidates = input.deployments
    .filter((d) => !isForkObject(d) && selects(selector, d.spec?.template?.metadata?.labels ?? {}))
    .map((d) => d.metadata.name ?? '')
    .sort(compareText);
  if (candidates.length === 0) {
    return fail(
      'NoDeployment',
      Object.keys(selector).length === 0
        ? `Service "${name}" has no selector, so no Deployment can be copied for it.`
        : `No Deployment of this namespace has pods that Service "${name}" selects.`,
    );
  }
  if (candidates.length > 1) {
    return fail(
      'AmbiguousDeployment',
      `Service "${name}" selects the pods of several Deployments (${candidates.join(', ')}); kubefork copies only one.`,
    );
  }
  const original = input.deployments.find((d) => d.metadata.name === candidates[0])!;
  const containers = original.spec?.template?.spec?.containers ?? [];
  let target = entry.container;
  if (entry.image !== undefined || entry.env) {
    if (target === undefined) {
      if (containers.length !== 1) {
        return fail(
          'ContainerRequired',
          `The pods of Deployment "${original.metadata.name}" have ${containers.length} containers (${containers.map((c) => c.name).join(', ')}); say which one the overrides are for in spec.services[].container.`,
        );
      }
      target = containers[0]!.name;
    } else if (!containers.some((c) => c.name === target)) {
      return fail(
        'ContainerNotFound',
        `The pods of Deployment "${original.metadata.name}" have no container "${target}" (they have ${containers.map((c) => c.name).join(', ') || 'none'}).`,
      );
    }
  }
  const { allowedImagePrefixes } = settings;
  if (
    entry.image !== undefined &&
    allowedImagePrefixes.length > 0 &&
    !allowedImagePrefixes.some((p) => entry.image!.startsWith(p))
  ) {
    return fail(
      'ImageNotAllowed',
      `Image "${entry.image}" does not start with any prefix the controller allows (${allowedImagePrefixes.join(', ')}).`,
    );
  }
  const podLabels = { [FORK_LABEL]: labelValue(valid.forkId), [FORK_SERVICE_LABEL]: name };
  const baseline = baselineServices(input.services);
  const deployment = deploymentCopy(fork, valid, entry, original, baseline, podLabels, target);
  const copy = serviceCopy(fork, valid.forkId, service, podLabels);
  const vsConfig = vsConfigFor(fork, valid.forkId, name, copy.metadata.name!, podLabels);
  return {
    name,
    ok: true,
    reason: 'Forked',
    message: `Deployment "${deployment.metadata.name}" and Service "${copy.metadata.name}" serve requests with ${DEFAULT_HEADER}: ${valid.forkId}.`,
    deployment,
    service: copy,
    vsConfig,
  };
}

/**
 * Plans one Fork: the copies of its services' Deployments, a Service and a VSConfig per copy, the
 * preview VirtualService, and why anything is missing. Pure and deterministic; reads nothing but
 * its input. The objects carry fresh metadata (labels `kubefork.dev/fork` and
 * `kubefork.dev/service`, the Fork as controlling owner, an annotation with a hash of the object)
 * and never the original's status, uid, resourceVersion, managedFields or ownerReferences.
 *
 * Throws a `TypeError` for mistakes of the caller (a malformed input or setting), never for a bad
 * Fork: that becomes `Invalid`.
 *
 * @example
 * const plan = planFork({ fork, forks: [fork], services, deployments });
 * plan.services.map((s) => s.deployment?.metadata.name); // → ['cart-alice']
 */
export function planFork(input: PlanForkInput): ForkPlan {
  if (typeof input !== 'object' || input === null)
    throw invalidOption('planFork input', input, 'an object');
  const { fork, forks, services, deployments } = input;
  if (typeof fork !== 'object' || fork === null || typeof fork.metadata !== 'object') {
    throw invalidOption('fork', fork, 'a Fork with metadata');
  }
  for (const [option, value] of [
    ['forks', forks],
    ['services', services],
    ['deployments', deployments],
  ] as const) {
    if (!Array.isArray(value)) throw invalidOption(option, value, 'an array');
  }
  const settings = readForkSettings(input);
  const checked = checkFork(fork);
  const none = { services: [], preview: null, previewURL: undefined };
  if (!checked.ok) {
    const forkId =
      typeof fork.spec?.forkId === 'string' ? fork.spec.forkId : (fork.metadata.name ?? '');
    return {
      forkId,
      ready: false,
      reason: 'Invalid',
      message: `${checked.problems.join('; ')}.`,
      ...none,
    };
  }
  const valid = checked.fork;
  const denied = admission(fork, valid.forkId, forks, settings.maxForks);
  if (denied) return { forkId: valid.forkId, ready: false, ...denied, ...none };

  const planned = valid.services.map((entry) => planService(fork, valid, entry, input, settings));
  const preview = settings.preview
    ? previewVirtualService(fork, valid.forkId, settings.preview, settings.clusterDomain)
    : null;
  const failed = planned.filter((s) => !s.ok);
  const first = failed[0];
  return {
    forkId: valid.forkId,
    ready: first === undefined,
    reason: first?.reason ?? 'Forked',
    message:
      first === undefined
        ? `${planned.length} service${planned.length === 1 ? '' : 's'} forked for ${DEFAULT_HEADER}: ${valid.forkId}.`
        : failed.map((s) => `${s.name}: ${s.message}`).join(' '),
    services: planned,
    preview,
    previewURL:
      preview && settings.preview
        ? `https://${previewHost(valid.forkId, settings.preview.domain)}/`
        : undefined,
  };
}
