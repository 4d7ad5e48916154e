#!/usr/bin/env node
// `pnpm run check:packages`: what npm users get. Packs every publishable package with pnpm (so
// `workspace:*` becomes a version, as on publish), then lints the tarball with publint --strict
// and checks its types with Are the Types Wrong (`--profile esm-only`: the packages are ESM only;
// CommonJS users load them through Node 20.19+'s require(esm)). Run after `pnpm run build`.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const out = mkdtempSync(join(tmpdir(), 'kubefork-check-packages-'));

const packages = readdirSync(join(root, 'packages'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => join(root, 'packages', entry.name))
  .filter((dir) => !JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private);

const failed = [];
try {
  for (const dir of packages) {
    const packed = execFileSync('pnpm', ['pack', '--json', '--pack-destination', out], {
      cwd: dir,
      encoding: 'utf8',
    });
    const { name, filename, files } = JSON.parse(packed);
    console.log(`\n${name} (${filename.split('/').at(-1)}, ${files.length} files)`);
    // Build state and tests are not for users; publint does not look for them.
    const stray = files
      .map((file) => file.path)
      .filter((path) => /\.tsbuildinfo$|(^|\/)test\//.test(path));
    if (stray.length > 0) failed.push(`${name}: ships ${stray.join(', ')}`);
    const checks = [
      [bin('publint'), ['run', filename, '--strict']],
      [
        bin('attw'),
        [
          filename,
          '--profile',
          'esm-only',
          '--format',
          'table-flipped',
          '--no-emoji',
          '--no-color',
        ],
      ],
    ];
    for (const [command, args] of checks) {
      const run = spawnSync(command, args, { cwd: dir, stdio: 'inherit' });
      if (run.status !== 0) failed.push(`${name}: ${command.split('/').at(-1)}`);
    }
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}

console.log(
  `\n${packages.length - new Set(failed.map((f) => f.split(':')[0])).size} of ${packages.length} packages pass publint and attw`,
);
if (failed.length > 0) {
  console.error(`failed: ${failed.join(', ')}`);
  process.exit(1);
}
