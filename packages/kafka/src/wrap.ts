/**
 * Marks what this package has wrapped, so that wrapping again (twice by the user, or two copies
 * of the package in one process) changes nothing. `Symbol.for`, so the copies share it.
 */
const WRAPPED = Symbol.for('kubefork.kafka.wrapped');

export function isWrapped(target: object): boolean {
  return (target as { [WRAPPED]?: true })[WRAPPED] === true;
}

export function markWrapped(target: object): void {
  Object.defineProperty(target, WRAPPED, { value: true, configurable: true });
}

type Method = (this: unknown, ...args: never[]) => unknown;

/**
 * Replaces `target[name]` with `wrap(original)`, when it is a function; the replacement is an
 * own property, as KafkaJS's own methods are (OpenTelemetry's instrumentation wraps the same way).
 */
export function wrapMethod(
  target: object,
  name: string,
  wrap: (original: (this: unknown, ...args: unknown[]) => unknown) => Method,
): void {
  const original = (target as Record<string, unknown>)[name];
  if (typeof original !== 'function') return;
  (target as Record<string, unknown>)[name] = wrap(
    original as (this: unknown, ...args: unknown[]) => unknown,
  );
}
