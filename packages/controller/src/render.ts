import type { Document } from 'yaml';
import {
  DEFAULT_CLUSTER_DOMAIN,
  DEFAULT_HEADER_ALLOW_LIST,
  VSCONFIG_API_VERSION,
  VSCONFIG_KIND,
} from './constants.js';
import { planHost, readOptions } from './plan-host.js';
import { compareText } from './text.js';
import type { VirtualService, VSConfig } from './types.js';
import { DNS_1123_LABEL } from './validate.js';
import {
  isAdoptableVirtualService,
  isManagedVirtualService,
  virtualServiceHosts,
} from './virtual-service.js';
import { stringifyYaml, yaml } from './yaml.js';

/** One input of `render`: the text of a file (or of stdin) and the name to report it by. */
export interface RenderSource {
  name: string;
  text: string;
}

export interface RenderOptions {
  /** Namespace of objects that name none (as `kubectl apply` would use). Default `default`. */
  namespace?: string;
  headerAllowList?: readonly string[];
  clusterDomain?: string;
}

export interface RenderOutput {
  /** The planned VirtualServices as multi-document YAML (empty when there are none). */
  yaml: string;
  /** One line per rejected VSConfig: `namespace/name: Reason: message`. */
  rejected: string[];
}

/** Input `render` cannot use; `message` starts with `file:line:column:`. */
export class RenderInputError extends Error {
  readonly code = 'ERR_KUBEFORK_RENDER_INPUT';

  constructor(message: string) {
    super(message);
    this.name = 'RenderInputError';
  }
}

interface Located<T> {
  object: T;
  where: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Collector {
  readonly vsconfigs = new Map<string, Located<VSConfig>>();
  readonly virtualServices: Located<VirtualService>[] = [];
  readonly #namespace: string;

  constructor(namespace: string) {
    this.#namespace = namespace;
  }

  /** Files the objects of one document, recursing into `kind: List`. */
  add(value: unknown, where: string): void {
    if (value === null || value === undefined) return; // an empty document, e.g. a trailing '---'
    if (
      !isObject(value) ||
      typeof value.kind !== 'string' ||
      typeof value.apiVersion !== 'string'
    ) {
      throw new RenderInputError(
        `${where}: not a Kubernetes object (apiVersion and kind required)`,
      );
    }
    const { apiVersion, kind } = value;
    if (kind === 'List' || kind.endsWith('List')) {
      const items = Array.isArray(value.items) ? value.items : [];
      for (const [index, item] of items.entries()) this.add(item, `${where} (items[${index}])`);
    } else if (kind === VSCONFIG_KIND && apiVersion.startsWith('kubefork.dev/')) {
      if (apiVersion !== VSCONFIG_API_VERSION) {
        throw new RenderInputError(
          `${where}: unsupported apiVersion ${apiVersion} (want ${VSCONFIG_API_VERSION})`,
        );
      }
      this.#addVSConfig(value, where);
    } else if (kind === 'VirtualService' && apiVersion.startsWith('networking.istio.io/')) {
      this.virtualServices.push({
        object: this.#withNamespace(value, where) as VirtualService,
        where,
      });
    }
    // Anything else (Deployments, Services, …) may share the stream and is not ours to judge.
  }

  #withNamespace(value: Record<string, unknown>, where: string): Record<string, unknown> {
    const metadata = isObject(value.metadata) ? value.metadata : {};
    if (typeof metadata.name !== 'string' || metadata.name.length === 0) {
      throw new RenderInputError(`${where}: ${String(value.kind)} without metadata.name`);
    }
    const namespace = metadata.namespace ?? this.#namespace;
    if (typeof namespace !== 'string' || !DNS_1123_LABEL.test(namespace)) {
      throw new RenderInputError(
        `${where}: metadata.namespace ${JSON.stringify(namespace)} is not a namespace name`,
      );
    }
    return { ...value, metadata: { ...metadata, namespace } };
  }

  #addVSConfig(value: Record<string, unknown>, where: string): void {
    const vsconfig = this.#withNamespace(value, where) as unknown as VSConfig;
    const key = `${vsconfig.metadata.namespace}/${vsconfig.metadata.name}`;
    const earlier = this.vsconfigs.get(key);
    if (earlier !== undefined) {
      throw new RenderInputError(
        `${where}: VSConfig ${key} is defined twice (also at ${earlier.where})`,
      );
    }
    this.vsconfigs.set(key, { object: vsconfig, where });
  }
}

function documents(source: RenderSource): { document: Document.Parsed; where: string }[] {
  const { LineCounter, parseAllDocuments } = yaml();
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(source.text, { lineCounter, prettyErrors: false });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `${source.name}:${line}:${col}`;
  };
  const result: { document: Document.Parsed; where: string }[] = [];
  for (const document of parsed) {
    const [error] = document.errors;
    if (error !== undefined) {
      const message = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw new RenderInputError(`${at(error.pos[0])}: ${message}`);
    }
    result.push({ document, where: at(document.contents?.range[0] ?? document.range[0]) });
  }
  return result;
}

/** Of several VirtualServices claiming one host, the one the planner must respect most. */
function rank(virtualService: VirtualService): number {
  if (isManagedVirtualService(virtualService)) return 2;
  return isAdoptableVirtualService(virtualService) ? 1 : 0;
}

/**
 * Plans every host found in `sources` (multi-document YAML: VSConfigs, optionally the existing
 * VirtualServices, anything else is skipped) exactly as the running controller would, and returns
 * the VirtualServices as YAML (YAML-1.1 safe, see `stringifyYaml`) plus one line per rejected
 * VSConfig. Deterministic: the same objects in any order and split over any files give the same
 * output. Throws `RenderInputError` for input it cannot read, naming file, line and column, and
 * a `TypeError` (`ERR_KUBEFORK_INVALID_OPTION`) for invalid options.
 *
 * @example
 * import { readFileSync } from 'node:fs';
 * import { render } from '@kubefork/controller/plan';
 *
 * const { yaml, rejected } = render(
 *   [{ name: 'forks.yaml', text: readFileSync('forks.yaml', 'utf8') }],
 *   { namespace: 'shop' },
 * );
 */
export function render(
  sources: readonly RenderSource[],
  options: RenderOptions = {},
): RenderOutput {
  const {
    namespace = 'default',
    headerAllowList = DEFAULT_HEADER_ALLOW_LIST,
    clusterDomain = DEFAULT_CLUSTER_DOMAIN,
  } = options;
  // Wrong options throw their TypeError now, not only once some host needs planning.
  readOptions({
    namespace,
    host: '',
    vsconfigs: [],
    headerAllowList: [...headerAllowList],
    clusterDomain,
  });
  const collector = new Collector(namespace);
  for (const source of sources) {
    for (const { document, where } of documents(source)) {
      let value: unknown;
      try {
        value = document.toJS({ maxAliasCount: 100 });
      } catch (error) {
        throw new RenderInputError(`${where}: ${(error as Error).message}`);
      }
      collector.add(value, where);
    }
  }

  const hosts = new Map<string, { namespace: string; host: string; vsconfigs: VSConfig[] }>();
  for (const { object } of collector.vsconfigs.values()) {
    const ns = object.metadata.namespace!;
    const host =
      isObject(object.spec) && typeof object.spec.host === 'string' ? object.spec.host : '';
    const key = `${ns}/${host}`;
    const group = hosts.get(key) ?? { namespace: ns, host, vsconfigs: [] };
    group.vsconfigs.push(object);
    hosts.set(key, group);
  }

  const claims = new Map<string, VirtualService>();
  const ordered = [...collector.virtualServices].sort(
    (a, b) =>
      rank(a.object) - rank(b.object) ||
      compareText(a.object.metadata.namespace!, b.object.metadata.namespace!) ||
      compareText(a.object.metadata.name!, b.object.metadata.name!),
  );
  for (const { object } of ordered) {
    for (const { namespace: ns, host } of virtualServiceHosts(object, clusterDomain)) {
      if (!claims.has(`${ns}/${host}`)) claims.set(`${ns}/${host}`, object);
    }
  }

  const planned: string[] = [];
  const rejected: string[] = [];
  for (const [key, group] of [...hosts].sort(([a], [b]) => compareText(a, b))) {
    const plan = planHost({
      ...group,
      existing: claims.get(key),
      headerAllowList: [...headerAllowList],
      clusterDomain,
    });
    if (plan.virtualService !== null) planned.push(stringifyYaml(plan.virtualService));
    for (const result of plan.results) {
      if (!result.ready) {
        rejected.push(`${group.namespace}/${result.name}: ${result.reason}: ${result.message}`);
      }
    }
  }
  return { yaml: planned.join('---\n'), rejected: rejected.sort(compareText) };
}
