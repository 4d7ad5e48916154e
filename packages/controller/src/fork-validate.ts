import { FORK_ID_ENV } from './constants.js';
import { DEFAULT_FORK_ID_PATTERN, DEFAULT_MAX_LENGTH } from './fork-id-rules.js';
import { parseDuration } from './fork-ttl.js';
import type { ForkServiceSpec } from './fork-types.js';
import {
  DNS_1035_LABEL,
  DNS_1123_LABEL,
  DNS_LABEL_MAX_LENGTH,
  isObject,
  shown,
} from './validate.js';

// The rules of deploy/fork-crd.yaml, applied again at run time (Forks stored before a CRD
// upgrade never passed them). test/fork-crd.test.ts checks that both agree.

export const MAX_FORK_SERVICES = 20;
export const MAX_FORK_REPLICAS = 5;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const IMAGE = /^[^\s]+$/;

/** A Fork that passed validation, with defaults applied. */
export interface ValidFork {
  forkId: string;
  ttl: string;
  services: (ForkServiceSpec & { replicas: number })[];
}

export type CheckedFork = { ok: true; fork: ValidFork } | { ok: false; problems: string[] };

function isForkId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length <= DEFAULT_MAX_LENGTH &&
    DEFAULT_FORK_ID_PATTERN.test(value)
  );
}

function checkService(entry: unknown, at: string, problems: string[]) {
  if (!isObject(entry)) {
    problems.push(`${at} must be an object; got ${shown(entry)}`);
    return undefined;
  }
  const { name, image, container, env, replicas } = entry;
  if (
    typeof name !== 'string' ||
    name.length > DNS_LABEL_MAX_LENGTH ||
    !DNS_1035_LABEL.test(name)
  ) {
    problems.push(`${at}.name must be a Service name (DNS-1035 label); got ${shown(name)}`);
  }
  if (image != null && (typeof image !== 'string' || image.length > 1024 || !IMAGE.test(image))) {
    problems.push(`${at}.image must be an image reference without spaces; got ${shown(image)}`);
  }
  if (
    container != null &&
    (typeof container !== 'string' ||
      container.length > DNS_LABEL_MAX_LENGTH ||
      !DNS_1123_LABEL.test(container))
  ) {
    problems.push(
      `${at}.container must be a container name (DNS-1123 label); got ${shown(container)}`,
    );
  }
  if (
    replicas != null &&
    (typeof replicas !== 'number' ||
      !Number.isInteger(replicas) ||
      replicas < 0 ||
      replicas > MAX_FORK_REPLICAS)
  ) {
    problems.push(
      `${at}.replicas must be an integer from 0 to ${MAX_FORK_REPLICAS}; got ${shown(replicas)}`,
    );
  }
  const variables: { name: string; value: string }[] = [];
  if (env != null) {
    if (!Array.isArray(env) || env.length > 64) {
      problems.push(`${at}.env must be a list of at most 64 {name, value}; got ${shown(env)}`);
    } else {
      const seen = new Set<string>();
      env.forEach((variable: unknown, i) => {
        const where = `${at}.env[${i}]`;
        const ok =
          isObject(variable) &&
          typeof variable.name === 'string' &&
          variable.name.length <= 256 &&
          ENV_NAME.test(variable.name) &&
          typeof variable.value === 'string' &&
          variable.value.length <= 32768;
        if (!ok) {
          problems.push(
            `${where} must be {name, value} with a valid variable name and a string value`,
          );
        } else if (variable.name === FORK_ID_ENV) {
          problems.push(`${where}.name must not be ${FORK_ID_ENV} (the controller sets it)`);
        } else if (seen.has(variable.name as string)) {
          problems.push(`${where}.name ${shown(variable.name)} appears twice`);
        } else {
          seen.add(variable.name as string);
          variables.push({ name: variable.name as string, value: variable.value as string });
        }
      });
    }
  }
  const checked: ForkServiceSpec & { replicas: number } = {
    name: name as string,
    replicas: typeof replicas === 'number' ? replicas : 1,
  };
  if (typeof image === 'string') checked.image = image;
  if (typeof container === 'string') checked.container = container;
  if (variables.length > 0) checked.env = variables;
  return checked;
}

/**
 * Checks one Fork against the rules of the CRD and returns its spec with defaults applied, or
 * every problem found (each a sentence naming the field). Never throws, whatever `value` is.
 */
export function checkFork(value: unknown): CheckedFork {
  const problems: string[] = [];
  const metadata = isObject(value) && isObject(value.metadata) ? value.metadata : {};
  const spec = isObject(value) ? value.spec : undefined;
  if (!isObject(spec))
    return { ok: false, problems: [`spec must be an object; got ${shown(spec)}`] };
  let forkId = spec.forkId;
  if (forkId == null) {
    forkId = metadata.name;
    if (!isForkId(forkId)) {
      problems.push(`metadata.name ${shown(forkId)} is not a valid fork id; set spec.forkId`);
    }
  } else if (!isForkId(forkId)) {
    problems.push(
      `spec.forkId must be a fork id (1-${DEFAULT_MAX_LENGTH} characters matching ${DEFAULT_FORK_ID_PATTERN.source}); got ${shown(forkId)}`,
    );
  }
  const ttl = spec.ttl ?? '8h';
  if (typeof ttl !== 'string' || ttl.length > 32 || parseDuration(ttl) === undefined) {
    problems.push(
      `spec.ttl must be a duration such as 8h, 90m or 1h30m, longer than zero; got ${shown(ttl)}`,
    );
  }
  const services: ValidFork['services'] = [];
  const list = spec.services;
  if (!Array.isArray(list) || list.length < 1 || list.length > MAX_FORK_SERVICES) {
    problems.push(`spec.services must list 1 to ${MAX_FORK_SERVICES} services; got ${shown(list)}`);
  } else {
    const names = new Set<string>();
    list.forEach((entry: unknown, i) => {
      const checked = checkService(entry, `spec.services[${i}]`, problems);
      if (!checked) return;
      if (names.has(checked.name)) {
        problems.push(`spec.services[${i}].name ${shown(checked.name)} appears twice`);
      }
      names.add(checked.name);
      services.push(checked);
    });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, fork: { forkId: forkId as string, ttl: ttl as string, services } };
}
