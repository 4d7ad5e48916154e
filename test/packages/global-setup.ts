import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { root } from './support.js';

/** Packs every publishable package once (pnpm pack: `workspace:*` becomes the version). */
export default function setup(project: TestProject): () => void {
  const out = mkdtempSync(join(tmpdir(), 'kubefork-tarballs-'));
  const tarballs: Record<string, string> = {};
  for (const entry of readdirSync(join(root, 'packages'), { withFileTypes: true })) {
    const dir = join(root, 'packages', entry.name);
    if (
      !entry.isDirectory() ||
      JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private
    ) {
      continue;
    }
    const packed = execFileSync('pnpm', ['pack', '--json', '--pack-destination', out], {
      cwd: dir,
      encoding: 'utf8',
    });
    const { name, filename } = JSON.parse(packed) as { name: string; filename: string };
    tarballs[name] = filename;
  }
  project.provide('tarballs', tarballs);
  return () => rmSync(out, { recursive: true, force: true });
}
