import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Package name → path of its packed tarball (global-setup.ts). */
    tarballs: Record<string, string>;
  }
}

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const nodeMajor = Number(process.versions.node.split('.')[0]);

export interface Output {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` in `cwd` with the Node that runs the tests first on PATH. */
export function run(cwd: string, command: string, args: string[]): Output {
  const path = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, PATH: path, NODE_OPTIONS: '' },
    timeout: 240_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Parses the last line of a script's stdout, failing with everything it printed. */
export function lastJson<T>(output: Output): T {
  if (output.status !== 0)
    throw new Error(`exit ${output.status}\n${output.stdout}${output.stderr}`);
  return JSON.parse(output.stdout.trim().split('\n').at(-1) ?? 'null') as T;
}

export interface App {
  dir: string;
  /** Installed version of every dependency that is not ours. */
  versions: Record<string, string>;
  remove(): void;
}

/** npm's errors that say the registry answered inconsistently or not at all, not that we are wrong. */
const REGISTRY_GLITCH = /npm error code (ETARGET|ETIMEDOUT|ECONNRESET|EAI_AGAIN|E5\d\d)\b/;

/**
 * `npm install` in `dir`, once more (revalidating npm's cached metadata) after a registry glitch.
 * Seen here: the registry listed openid-client 6.9.1 before the oauth4webapi 3.8.9 it needs
 * (ETARGET), ten minutes before both resolved.
 */
function npmInstall(dir: string): Output {
  const args = ['install', '--no-audit', '--no-fund', '--loglevel=error'];
  const first = run(dir, 'npm', args);
  if (first.status === 0 || !REGISTRY_GLITCH.test(first.stderr)) return first;
  spawnSync('sleep', ['30']);
  return run(dir, 'npm', [...args, '--prefer-online']);
}

/**
 * A fresh app outside the workspace, made from `apps/<fixture>`: `npm install` of the given
 * tarballs and registry packages, as a user would. npm's `overrides` make the tarballs' own
 * dependencies on each other resolve to the tarballs, not to the registry.
 */
export function createApp(
  fixture: string,
  tarballs: Record<string, string>,
  registry: Record<string, string>,
): App {
  const dir = mkdtempSync(join(tmpdir(), `kubefork-app-${fixture}-`));
  cpSync(join(root, 'test', 'packages', 'apps', fixture), dir, { recursive: true });
  const ours = Object.fromEntries(
    Object.entries(tarballs).map(([name, file]) => [name, `file:${file}`]),
  );
  const manifest = {
    name: `kubefork-packages-${fixture}`,
    private: true,
    type: 'module',
    dependencies: { ...ours, ...registry },
    overrides: Object.fromEntries(Object.keys(ours).map((name) => [name, `$${name}`])),
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const install = npmInstall(dir);
  if (install.status !== 0) {
    throw new Error(`npm install failed in ${dir}\n${install.stdout}${install.stderr}`);
  }
  const versions: Record<string, string> = {};
  for (const name of Object.keys(registry)) {
    const installed = JSON.parse(
      readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8'),
    ) as { version: string };
    versions[name] = installed.version;
  }
  return { dir, versions, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * npm's complaints about the peers our packages declare: `invalid: <name>@<version> <path>` for
 * an installed version outside a range that requires it (npm names the package, not the range),
 * and `missing: …, required by @kubefork/…`.
 */
export function peerProblems(dir: string, tarballs: Record<string, string>): string[] {
  const peers = new Set<string>();
  for (const name of Object.keys(tarballs)) {
    const manifest = JSON.parse(
      readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8'),
    ) as { peerDependencies?: Record<string, string> };
    for (const peer of Object.keys(manifest.peerDependencies ?? {})) peers.add(peer);
  }
  const listed = run(dir, 'npm', ['ls', '--all', '--json']);
  const tree = JSON.parse(listed.stdout) as { problems?: string[] };
  return (tree.problems ?? []).filter(
    (problem) =>
      problem.includes('required by @kubefork/') ||
      [...peers].some((peer) => problem.startsWith(`invalid: ${peer}@`)),
  );
}
