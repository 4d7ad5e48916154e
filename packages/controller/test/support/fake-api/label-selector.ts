// Kubernetes label selectors (equality- and set-based), as the API server parses them from
// `?labelSelector=`: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/

export type Labels = Record<string, string> | undefined;
export type LabelMatcher = (labels: Labels) => boolean;

type Requirement =
  | { key: string; op: 'exists' | 'not-exists' }
  | { key: string; op: 'in' | 'notin'; values: string[] };

/** A 400 from the fake server: the selector text is malformed. */
export class SelectorError extends Error {
  override name = 'SelectorError';
}

/**
 * Parses a label selector (`a=b,c!=d,e in (f,g),!h,i`) into a predicate over an object's labels.
 * An empty selector matches everything.
 */
export function parseLabelSelector(selector: string | null | undefined): LabelMatcher {
  const requirements = splitTopLevel(selector ?? '').map(parseRequirement);
  return function matchesLabels(labels) {
    return requirements.every((requirement) => matchesRequirement(requirement, labels ?? {}));
  };
}

function matchesRequirement(requirement: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, requirement.key);
  const value = labels[requirement.key];
  switch (requirement.op) {
    case 'exists':
      return has;
    case 'not-exists':
      return !has;
    case 'in':
      return has && requirement.values.includes(value ?? '');
    case 'notin':
      return !has || !requirement.values.includes(value ?? '');
  }
}

/** Splits on commas that are not inside a `( … )` value set. */
function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of selector) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts.map((part) => part.trim()).filter((part) => part.length > 0);
}

const KEY = /^([a-z0-9A-Z][-a-z0-9A-Z_.]*\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function parseRequirement(text: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(text);
  if (set) {
    const values = set[3]!.split(',').map((value) => checkValue(value.trim(), text));
    return { key: checkKey(set[1]!, text), op: set[2] as 'in' | 'notin', values };
  }
  const equality = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(text);
  if (equality) {
    const key = checkKey(equality[1]!, text);
    const values = [checkValue(equality[3]!, text)];
    return { key, op: equality[2] === '!=' ? 'notin' : 'in', values };
  }
  if (text.startsWith('!')) return { key: checkKey(text.slice(1).trim(), text), op: 'not-exists' };
  return { key: checkKey(text, text), op: 'exists' };
}

function checkKey(key: string, requirement: string): string {
  if (!KEY.test(key)) throw new SelectorError(`invalid label key "${key}" in "${requirement}"`);
  return key;
}

function checkValue(value: string, requirement: string): string {
  if (value.length > 63 || !VALUE.test(value)) {
    throw new SelectorError(`invalid label value "${value}" in "${requirement}"`);
  }
  return value;
}
