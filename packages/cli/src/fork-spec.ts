// The Fork that `kubefork fork` applies and `kubefork manifest` prints, built from the command
// line. Every check a user can fix before anything reaches the cluster happens here, with the
// CRD's own rules (packages/controller/deploy/fork-crd.yaml) and the SDK's fork-id rule.
import { userInfo } from 'node:os';
import { isValidForkId } from '@kubefork/context';
import {
  FORK_API_VERSION,
  FORK_KIND,
  type Fork,
  type ForkServiceSpec,
  parseDuration,
} from '@kubefork/controller/plan';
import { listValue, stringValue } from './args.js';
import { usageError } from './errors.js';

/** The options `fork` and `manifest` share. */
export const FORK_OPTIONS = {
  id: { type: 'string' },
  image: { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
  replicas: { type: 'string', multiple: true },
  ttl: { type: 'string' },
} as const;

export const FORK_USAGE = `  --id ID                  the fork id requests carry (default: your user name)
  --image SERVICE=IMAGE    run IMAGE in SERVICE's copy (repeatable)
  --env SERVICE:NAME=VALUE set a variable in SERVICE's copy (repeatable)
  --replicas SERVICE=N     replicas of SERVICE's copy, 0-5 (default 1; repeatable)
  --ttl DURATION           how long the Fork lives, e.g. 8h, 90m, 2d (default 8h; the cluster may cap it)`;

const SERVICE_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
/** A Fork's metadata.name: a DNS-1123 subdomain, kept to 63 so it stays a fork id too. */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** The Fork object's name for a fork id: the id itself when Kubernetes allows it as a name. */
export function forkName(forkId: string): string {
  if (OBJECT_NAME.test(forkId) && forkId.length <= 63) return forkId;
  const name = forkId
    .toLowerCase()
    .replace(/[^-a-z0-9.]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .slice(0, 63)
    .replace(/[^a-z0-9]+$/, '');
  return name || 'fork';
}

/** The fork id: `--id`, else the user name made into a valid id. */
export function resolveForkId(id: string | undefined): string {
  if (id !== undefined) {
    if (!isValidForkId(id)) {
      throw usageError(
        `invalid fork id "${id}": 1-63 characters, letters, digits, ".", "_" or "-", starting with a letter or digit`,
      );
    }
    return id;
  }
  let user = '';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (e.g. a container with an arbitrary uid): fall through to the error below.
  }
  const derived = forkName(user);
  if (!user || !isValidForkId(derived)) {
    throw usageError('cannot derive a fork id from your user name; pass --id ID');
  }
  return derived;
}

function split(text: string, separator: string, flag: string, shape: string): [string, string] {
  const at = text.indexOf(separator);
  if (at <= 0) throw usageError(`${flag} "${text}" is not ${shape}`);
  return [text.slice(0, at), text.slice(at + 1)];
}

/**
 * The Fork for `services` and the fork flags, in `namespace`. Throws a usage error naming the
 * flag for anything the CRD would refuse.
 */
export function buildFork(
  services: string[],
  values: Record<string, unknown>,
  namespace: string | undefined,
): Fork {
  if (services.length === 0) throw usageError('name at least one SERVICE to fork');
  if (services.length > 20) throw usageError('a Fork copies at most 20 services');
  const entries = new Map<string, ForkServiceSpec>();
  for (const name of services) {
    if (!SERVICE_NAME.test(name) || name.length > 63) {
      throw usageError(`"${name}" is not a Service name (lowercase letters, digits and "-")`);
    }
    if (entries.has(name)) throw usageError(`service "${name}" is named twice`);
    entries.set(name, { name });
  }
  const entryFor = (service: string, flag: string) => {
    const entry = entries.get(service);
    if (!entry) {
      throw usageError(
        `${flag} names service "${service}", which is not among the services to fork (${services.join(', ')})`,
      );
    }
    return entry;
  };
  for (const text of listValue(values.image)) {
    const [service, image] = split(text, '=', '--image', 'SERVICE=IMAGE');
    if (!image || /\s/.test(image)) throw usageError(`--image "${text}" has no valid image`);
    entryFor(service, '--image').image = image;
  }
  for (const text of listValue(values.env)) {
    const [service, assignment] = split(text, ':', '--env', 'SERVICE:NAME=VALUE');
    const [name, value] = split(assignment, '=', '--env', 'SERVICE:NAME=VALUE');
    if (!ENV_NAME.test(name)) throw usageError(`--env "${text}": "${name}" is not a variable name`);
    if (name === 'KUBEFORK_FORK_ID') {
      throw usageError('--env cannot set KUBEFORK_FORK_ID: the controller sets it to the fork id');
    }
    const entry = entryFor(service, '--env');
    entry.env = [...(entry.env ?? []).filter((e) => e.name !== name), { name, value }];
  }
  for (const text of listValue(values.replicas)) {
    const [service, count] = split(text, '=', '--replicas', 'SERVICE=N');
    if (!/^[0-5]$/.test(count)) throw usageError(`--replicas "${text}": N must be 0 to 5`);
    entryFor(service, '--replicas').replicas = Number(count);
  }
  const ttl = stringValue(values.ttl);
  if (ttl !== undefined && (parseDuration(ttl) === undefined || ttl.length > 32)) {
    throw usageError(`--ttl "${ttl}" is not a duration such as 8h, 90m, 1h30m or 2d`);
  }
  const forkId = resolveForkId(stringValue(values.id));
  const name = forkName(forkId);
  return {
    apiVersion: FORK_API_VERSION,
    kind: FORK_KIND,
    metadata: namespace === undefined ? { name } : { name, namespace },
    spec: {
      ...(name === forkId ? {} : { forkId }),
      ...(ttl === undefined ? {} : { ttl }),
      services: [...entries.values()],
    },
  };
}
