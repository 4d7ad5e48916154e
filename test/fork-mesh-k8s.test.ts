// The manifests of examples/fork-mesh/k8s cannot run here (no cluster), so they are checked
// for the mistakes that would break the demo there: wiring, selectors, ports, and that the
// controller's render plans from them exactly what the local demo routes by.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  loadVSConfigs,
  NAMESPACE,
  planVirtualServices,
  SERVICES,
  type ServiceName,
} from '@kubefork/example-fork-mesh';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const K8S = join(here, '../examples/fork-mesh/k8s');
const RENDER = join(here, '../packages/controller/dist/bin.js');

interface Container {
  env?: { name: string; value: string }[];
  ports?: { name: string; containerPort: number }[];
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: {
    selector?: { matchLabels?: Record<string, string> } & Record<string, string>;
    template?: { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } };
    ports?: { name: string; port: number; targetPort: string; appProtocol?: string }[];
    resources?: string[];
    service?: string;
    host?: string;
    port?: number;
  };
  resources?: string[];
}

function yamlFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? yamlFiles(join(dir, entry.name), `${prefix}${entry.name}/`)
      : entry.name.endsWith('.yaml')
        ? [`${prefix}${entry.name}`]
        : [],
  );
}

const files = yamlFiles(K8S).sort();
const objects = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map(
    (document) => document.toJS() as K8sObject,
  ),
);
const ofKind = (kind: string) => objects.filter((object) => object.kind === kind);
const deployments = ofKind('Deployment');
const services = ofKind('Service');
const env = (deployment: K8sObject, name: string) =>
  deployment.spec.template!.spec.containers[0]!.env?.find((variable) => variable.name === name)
    ?.value;
const serviceNamed = (name: string) => services.find((service) => service.metadata.name === name);

describe('examples/fork-mesh/k8s', () => {
  it('applies every manifest but the demo Job through kustomization.yaml', () => {
    const kustomization = objects.find((object) => object.kind === 'Kustomization')!;
    expect([...kustomization.resources!].sort()).toEqual(
      files.filter((file) => file !== 'kustomization.yaml' && file !== 'demo-job.yaml'),
    );
  });

  it('puts every namespaced object into the demo namespace', () => {
    const namespaced = objects.filter((o) => !['Namespace', 'Kustomization'].includes(o.kind));
    expect(new Set(namespaced.map((object) => object.metadata.namespace))).toEqual(
      new Set([NAMESPACE]),
    );
  });

  it('has a Deployment and a Service for each baseline and each fork the VSConfigs name', () => {
    const names = [
      ...SERVICES.map((service) => service.name),
      ...loadVSConfigs().map((v) => v.spec.service),
    ];
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([...names].sort());
    expect(services.map((s) => s.metadata.name).sort()).toEqual([...names].sort());
  });

  it('selects with every Service the pods of its own Deployment only', () => {
    for (const service of services) {
      const selector = service.spec.selector as Record<string, string>;
      const selected = deployments.filter((deployment) =>
        Object.entries(selector).every(
          ([key, value]) => deployment.spec.template!.metadata.labels[key] === value,
        ),
      );
      expect([service.metadata.name, selected.map((d) => d.metadata.name)]).toEqual([
        service.metadata.name,
        [service.metadata.name],
      ]);
    }
  });

  it('runs in every Deployment the service it is a copy of, on the port its Service targets', () => {
    for (const deployment of deployments) {
      const name = deployment.metadata.name;
      const service = SERVICES.find((s) => s.name === env(deployment, 'MESH_SERVICE'));
      expect(service, `MESH_SERVICE of ${name}`).toBeDefined();
      expect(env(deployment, 'MESH_INSTANCE')).toBe(name);
      const port = deployment.spec.template!.spec.containers[0]!.ports![0]!;
      expect(String(port.containerPort)).toBe(env(deployment, 'PORT'));
      const servicePort = serviceNamed(name)!.spec.ports![0]!;
      expect(servicePort.targetPort).toBe(port.name);
      // Istio picks the protocol from appProtocol: gRPC for C, HTTP for the others.
      expect(servicePort.appProtocol).toBe(service!.protocol === 'grpc' ? 'grpc' : 'http');
    }
  });

  it('points every Deployment at the Service of the next hop, with its port and protocol', () => {
    for (const deployment of deployments) {
      const service = SERVICES.find((s) => s.name === env(deployment, 'MESH_SERVICE'))!;
      const downstream = env(deployment, 'MESH_DOWNSTREAM');
      if (service.downstream === undefined) {
        expect(downstream).toBeUndefined();
        continue;
      }
      const next = SERVICES.find((s) => s.name === service.downstream)!;
      const port = serviceNamed(next.name)!.spec.ports![0]!.port;
      const host = `${next.name}.${NAMESPACE}.svc.cluster.local:${port}`;
      expect(downstream).toBe(next.protocol === 'grpc' ? host : `http://${host}`);
    }
  });

  it('routes each VSConfig to a fork of its host, on the fork Service port', () => {
    for (const vsconfig of loadVSConfigs()) {
      const fork = deployments.find((d) => d.metadata.name === vsconfig.spec.service)!;
      expect(env(fork, 'MESH_SERVICE') as ServiceName).toBe(vsconfig.spec.host);
      expect(vsconfig.spec.port).toBe(serviceNamed(vsconfig.spec.service)!.spec.ports![0]!.port);
    }
  });

  it('renders with kubefork-controller the same VirtualServices the local demo routes by', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      RENDER,
      'render',
      ...files.map((file) => join(K8S, file)),
    ]);
    const rendered = parseAllDocuments(stdout).map((document) => document.toJS() as K8sObject);
    expect(Object.fromEntries(rendered.map((vs) => [vs.metadata.name, vs]))).toEqual(
      Object.fromEntries(planVirtualServices(loadVSConfigs())),
    );
  });
});
