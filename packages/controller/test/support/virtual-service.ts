import { VirtualService as IstioVirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService';
import { RE2JS } from 're2js';
import type { StringMatch, VirtualService } from '../../src/index.js';

/**
 * Problems of a VirtualService the controller would apply: the @kubernetes-models/istio schema
 * (types and shapes) plus what that schema cannot say: every destination names a host, header
 * keys are lower case (Istio rejects upper case), regexes compile in RE2 and are at most 1,024
 * characters long (istiod's validation, istio/istio pkg/config/validation `validateStringRegexp`,
 * refuses the whole VirtualService otherwise), hosts are present.
 */
export function virtualServiceProblems(virtualService: VirtualService): string[] {
  const problems: string[] = [];
  try {
    // The model checks the v1beta1 schema; v1 and v1beta1 share it.
    new IstioVirtualService({
      ...virtualService,
      apiVersion: 'networking.istio.io/v1beta1',
    } as ConstructorParameters<typeof IstioVirtualService>[0]).validate();
  } catch (error) {
    problems.push(`schema: ${(error as Error).message}`);
  }
  const { metadata, spec } = virtualService;
  if (!metadata?.name || !metadata.namespace)
    problems.push('metadata: name and namespace required');
  if (!Array.isArray(spec?.hosts) || spec.hosts.length === 0) problems.push('spec.hosts: empty');
  for (const [index, route] of (spec?.http ?? []).entries()) {
    const at = `spec.http[${index}]`;
    for (const destination of route.route ?? []) {
      const host = destination.destination?.host;
      if (typeof host !== 'string' || host.length === 0)
        problems.push(`${at}: destination without host`);
    }
    for (const match of route.match ?? []) {
      for (const headers of [match.headers, match.withoutHeaders]) {
        for (const [name, condition] of Object.entries(headers ?? {})) {
          if (name !== name.toLowerCase())
            problems.push(`${at}: header key ${name} not lower case`);
          const regex = (condition as StringMatch).regex;
          if (regex !== undefined) {
            if (regex.length > 1024) {
              problems.push(`${at}: regex of ${regex.length} characters (Istio allows 1,024)`);
            }
            try {
              RE2JS.compile(regex);
            } catch (error) {
              problems.push(`${at}: regex ${regex} is not RE2: ${(error as Error).message}`);
            }
          }
        }
      }
    }
  }
  return problems;
}
