// Maps objects to the `(namespace, host)` keys they affect, and back. Informer callbacks carry
// only the new version of an object, so the index remembers the keys each object had: when a
// VSConfig moves from host A to host B, both A and B must be reconciled.

/** `namespace/host`: the unit of work, one VirtualService each. */
export type HostKey = string;

export function hostKey(namespace: string, host: string): HostKey {
  return `${namespace}/${host}`;
}

export function parseHostKey(key: HostKey): { namespace: string; host: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), host: key.slice(slash + 1) };
}

/** A many-to-many index between object keys (`namespace/name`) and values. */
export class MultiIndex {
  readonly #byObject = new Map<string, string[]>();
  readonly #byValue = new Map<string, Set<string>>();

  /** Sets the values of `object`; returns its old and new values together. */
  set(object: string, values: string[]): string[] {
    const old = this.#byObject.get(object) ?? [];
    for (const value of old) this.#unlink(object, value);
    if (values.length === 0) this.#byObject.delete(object);
    else this.#byObject.set(object, values);
    for (const value of values) {
      let objects = this.#byValue.get(value);
      if (!objects) {
        objects = new Set();
        this.#byValue.set(value, objects);
      }
      objects.add(object);
    }
    return [...new Set([...old, ...values])];
  }

  /** Forgets `object`; returns the values it had. */
  delete(object: string): string[] {
    return this.set(object, []);
  }

  /** The objects that have `value`. */
  objects(value: string): string[] {
    return [...(this.#byValue.get(value) ?? [])];
  }

  /** The values of `object`. */
  valuesOf(object: string): string[] {
    return this.#byObject.get(object) ?? [];
  }

  /** Every value some object has. */
  values(): string[] {
    return [...this.#byValue.keys()];
  }

  #unlink(object: string, value: string): void {
    const objects = this.#byValue.get(value);
    objects?.delete(object);
    if (objects?.size === 0) this.#byValue.delete(value);
  }
}

export function objectKey(metadata: { namespace?: string; name?: string } | undefined): string {
  return `${metadata?.namespace ?? ''}/${metadata?.name ?? ''}`;
}
