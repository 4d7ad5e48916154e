// Walks the import graph of built JavaScript as Node would load it, without running it: static
// imports and re-exports, `import()` with a literal specifier (code loaded later counts too) and
// `require('…')` (CommonJS packages, and our lazily required `yaml`). Bare specifiers resolve like
// Node does: `node_modules` upwards from the importer, then the package's `exports` map with the
// conditions of the importer's module kind (`node`, `import` or `require`, `default`), or `main`.
// TypeScript's scanner finds the specifiers, so comments and strings never count as imports.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';

export interface ImportGraph {
  /** Every JavaScript file reached, real paths. */
  files: Set<string>;
  /** Every package reached through a bare specifier (its name), the entry's own package excluded. */
  packages: Set<string>;
  /** Built-in modules reached (`node:fs`, `fs`, …), without the `node:` prefix. */
  builtins: Set<string>;
  /** Specifiers that did not resolve, with the file that asked for them. */
  unresolved: { from: string; specifier: string }[];
}

interface PackageJson {
  name?: string;
  type?: string;
  main?: string;
  exports?: unknown;
}

const builtins = new Set(builtinModules);

function readJson(file: string): PackageJson {
  return JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
}

function isFile(file: string): boolean {
  return existsSync(file) && statSync(file).isFile();
}

/** The nearest package.json above `file` (the scope that decides `type`, and self-reference). */
function packageScope(file: string): { dir: string; json: PackageJson } | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (isFile(candidate)) return { dir, json: readJson(candidate) };
    if (dirname(dir) === dir) return undefined;
  }
}

function isCommonJs(file: string): boolean {
  if (file.endsWith('.cjs')) return true;
  if (file.endsWith('.mjs')) return false;
  return packageScope(file)?.json.type !== 'module';
}

/** CommonJS file lookup: the file, with `.js`/`.json`, or a directory's `main` or `index.js`. */
function probe(path: string): string | undefined {
  for (const candidate of [path, `${path}.js`, `${path}.json`, `${path}.cjs`]) {
    if (isFile(candidate)) return candidate;
  }
  if (existsSync(join(path, 'package.json'))) {
    const { main } = readJson(join(path, 'package.json'));
    if (main !== undefined) {
      const found = probe(join(path, main));
      if (found) return found;
    }
  }
  return isFile(join(path, 'index.js')) ? join(path, 'index.js') : undefined;
}

function resolveTarget(
  target: unknown,
  conditions: readonly string[],
  star: string,
): string | undefined {
  if (typeof target === 'string') return target.replaceAll('*', star);
  if (Array.isArray(target)) {
    for (const entry of target) {
      const found = resolveTarget(entry, conditions, star);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof target === 'object' && target !== null) {
    for (const [condition, value] of Object.entries(target)) {
      if (condition !== 'default' && !conditions.includes(condition)) continue;
      const found = resolveTarget(value, conditions, star);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** The `exports` entry of `subpath` (`.` or `./x`) for `conditions`, relative to the package. */
function resolveExports(
  exports: unknown,
  subpath: string,
  conditions: readonly string[],
): string | undefined {
  const map =
    typeof exports === 'object' &&
    exports !== null &&
    !Array.isArray(exports) &&
    Object.keys(exports).some((key) => key.startsWith('.'))
      ? (exports as Record<string, unknown>)
      : { '.': exports };
  if (subpath in map) return resolveTarget(map[subpath], conditions, '');
  for (const [key, value] of Object.entries(map)) {
    const at = key.indexOf('*');
    if (at < 0) continue;
    const prefix = key.slice(0, at);
    const suffix = key.slice(at + 1);
    if (subpath.startsWith(prefix) && subpath.endsWith(suffix) && subpath.length >= key.length) {
      const star = subpath.slice(prefix.length, subpath.length - suffix.length);
      return resolveTarget(value, conditions, star);
    }
  }
  return undefined;
}

function splitBare(specifier: string): { name: string; subpath: string } {
  const parts = specifier.split('/');
  const count = specifier.startsWith('@') ? 2 : 1;
  const rest = parts.slice(count).join('/');
  return { name: parts.slice(0, count).join('/'), subpath: rest ? `./${rest}` : '.' };
}

function resolveBare(specifier: string, from: string, commonJs: boolean): string | undefined {
  const { name, subpath } = splitBare(specifier);
  const conditions = ['node', commonJs ? 'require' : 'import'];
  let dir: string | undefined;
  const scope = packageScope(from);
  if (scope?.json.name === name && scope.json.exports !== undefined) dir = scope.dir; // self-reference
  for (let at = dirname(from); dir === undefined; at = dirname(at)) {
    const candidate = join(at, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) dir = realpathSync(candidate);
    if (dirname(at) === at) break;
  }
  if (dir === undefined) return undefined;
  const json = readJson(join(dir, 'package.json'));
  if (json.exports !== undefined) {
    const target = resolveExports(json.exports, subpath, conditions);
    return target !== undefined && isFile(join(dir, target)) ? join(dir, target) : undefined;
  }
  return subpath === '.' ? probe(dir) : probe(join(dir, subpath));
}

/** Walks everything `entry` (a bare specifier such as `@kubefork/controller/plan`) can load. */
export function importGraph(entry: string, from: string): ImportGraph {
  const graph: ImportGraph = {
    files: new Set(),
    packages: new Set(),
    builtins: new Set(),
    unresolved: [],
  };
  const start = resolveBare(entry, from, false);
  if (start === undefined) throw new Error(`cannot resolve ${entry} from ${from}`);
  const own = packageScope(start)?.json.name;
  const queue = [realpathSync(start)];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (graph.files.has(file)) continue;
    graph.files.add(file);
    if (file.endsWith('.json')) continue;
    const commonJs = isCommonJs(file);
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName: specifier } of importedFiles) {
      if (specifier.startsWith('node:') || builtins.has(specifier)) {
        graph.builtins.add(specifier.replace(/^node:/, ''));
        continue;
      }
      let target: string | undefined;
      if (specifier.startsWith('.') || specifier.startsWith('/')) {
        const path = resolve(dirname(file), specifier);
        target = commonJs ? probe(path) : isFile(path) ? path : undefined;
      } else {
        target = resolveBare(specifier, file, commonJs);
        const { name } = splitBare(specifier);
        if (name !== own) graph.packages.add(name);
      }
      if (target === undefined) graph.unresolved.push({ from: file, specifier });
      else queue.push(realpathSync(target));
    }
  }
  return graph;
}
