// Which OpenTelemetry line the otel variant uses on this Node, and its installed versions.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bench = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * OpenTelemetry 3.x (SDK 3, instrumentations 0.30x) needs Node >= 22.15; older Node gets the
 * 2.x line (SDK 2.12, instrumentations 0.223), the newest that runs there.
 */
export function usesOtelNext(version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 15);
}

/** The version of `name` as installed for the package in `from` ('' when not found). */
function installedVersion(from: string, name: string): string {
  try {
    let dir = dirname(createRequire(join(from, 'package.json')).resolve(name));
    // Newer packages do not export ./package.json: walk up from the entry point instead.
    for (;;) {
      try {
        const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
        if (manifest.name === name) return manifest.version as string;
      } catch {}
      const parent = dirname(dir);
      if (parent === dir) return '';
      dir = parent;
    }
  } catch {
    return '';
  }
}

/** e.g. "sdk-trace 3.1.1, instrumentation-http 0.301.0, -undici 0.34.0, …". */
export function describeOtelLine(version = process.versions.node): string {
  const next = usesOtelNext(version);
  const from = next ? join(bench, 'otel-next') : bench;
  const sdk = next ? '@opentelemetry/sdk-trace' : '@opentelemetry/sdk-trace-node';
  const parts = [
    `${sdk.split('/')[1]} ${installedVersion(from, sdk)}`,
    `api ${installedVersion(from, '@opentelemetry/api')}`,
    `instrumentation-http ${installedVersion(from, '@opentelemetry/instrumentation-http')}`,
    `-undici ${installedVersion(from, '@opentelemetry/instrumentation-undici')}`,
    `-express ${installedVersion(from, '@opentelemetry/instrumentation-express')}`,
    `@fastify/otel ${installedVersion(from, '@fastify/otel')}`,
  ];
  return parts.join(', ');
}
