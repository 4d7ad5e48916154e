import type { Metadata, MetadataValue } from '@grpc/grpc-js';
import type { HeaderAccess } from '@kubefork/context/integration';

/** Text metadata values are strings; `-bin` values are Buffers. */
export function isString(value: MetadataValue): value is string {
  return typeof value === 'string';
}

/**
 * The text values of `name`. grpc-js keeps strings under text keys and Buffers under `-bin`
 * keys (`Metadata#set` validates this), so the filter only allocates for a `-bin` name.
 */
export function textValues(metadata: Metadata, name: string): string[] | undefined {
  const values = metadata.get(name);
  if (values.length === 0) return undefined;
  return values.every(isString) ? (values as string[]) : values.filter(isString);
}

/** How the core reads and writes one call's metadata (text keys only). */
export const metadataAccess: HeaderAccess<Metadata> = {
  get(metadata, name) {
    const values = textValues(metadata, name);
    if (values === undefined || values.length === 0) return undefined;
    return values.length === 1 ? values[0] : values.join(', ');
  },
  set(metadata, name, value) {
    metadata.set(name, value);
  },
};
