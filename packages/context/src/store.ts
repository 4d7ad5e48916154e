import { AsyncLocalStorage } from 'node:async_hooks';
import { DEFAULT_CONFIG, type ForkConfig } from './config.js';
import { VERSION } from './version.js';

/**
 * What the store holds inside a scope that explicitly has no fork (a baseline request), as
 * opposed to "not entered" (`undefined`). Internal: every API says "no fork" with `undefined`.
 */
export const BASELINE: unique symbol = Symbol.for('kubefork.context.baseline') as never;

export type ForkSlot = string | typeof BASELINE;

/** A fallback lookup asked, in registration order, when no kubefork scope is entered. */
export type ForkSource = () => string | undefined;

/** One process-wide installation of `installShared`: how many users hold it, how to take it out. */
export interface Installation {
  users: number;
  remove: () => void;
}

/**
 * The process-wide state: every copy of this package with the same compatibility line (see
 * `COMPAT`) in one process shares this object, so a fork captured by one copy is seen by the
 * others (a hoisting accident, a bundled copy, ESM + CJS).
 */
export interface SharedState {
  /** The version of the copy that created the state. */
  readonly version: string;
  readonly storage: AsyncLocalStorage<ForkSlot>;
  config: ForkConfig;
  /** `registerForkSource`'s lookups, asked in order after the store. */
  readonly sources: ForkSource[];
  /** `installShared`'s installations by key. */
  readonly installations: Map<symbol, Installation>;
}

/**
 * The compatibility line: copies share state when this is equal. Semver's rule: the major
 * version; during 0.x, where a minor may break, the minor (`0.1`, `0.2`, …).
 */
export function compatibilityLine(version: string): string {
  const [major = '0', minor = '0'] = version.split('.');
  return major === '0' ? `0.${minor}` : major;
}

/** Which lines are loaded in this process, by line: `{ '0.1': '0.1.3', '1': '1.2.0' }`. */
interface LoadedLines {
  versions: Record<string, string>;
  /** Pairs of lines already warned about ("0.1|1"), so each conflict is reported once. */
  warned: Set<string>;
}

const COMPAT = compatibilityLine(VERSION);
const STATE_KEY = Symbol.for(`kubefork.context@${COMPAT}`);
/** Version-independent: the only slot every line reads, so a line can see the others. */
const LINES_KEY = Symbol.for('kubefork.context.lines');

type Holder = { [key: symbol]: unknown };

function defineHidden(holder: Holder, key: symbol, value: unknown): void {
  Object.defineProperty(holder, key, { value, enumerable: false });
}

/** Warns once per pair of lines that two incompatible copies run apart in this process. */
function checkOtherLines(holder: Holder): void {
  let lines = holder[LINES_KEY] as LoadedLines | undefined;
  if (lines === undefined) {
    lines = { versions: {}, warned: new Set() };
    defineHidden(holder, LINES_KEY, lines);
  }
  lines.versions[COMPAT] ??= VERSION;
  for (const [line, version] of Object.entries(lines.versions)) {
    if (line === COMPAT) continue;
    const pair = [line, COMPAT].sort().join('|');
    if (lines.warned.has(pair)) continue;
    lines.warned.add(pair);
    process.emitWarning(
      `@kubefork/context ${VERSION} and ${version} are both loaded; their versions are not ` +
        'compatible, so each keeps its own fork store and configuration: a fork entered through ' +
        'one is invisible to the other. Install one version (npm ls @kubefork/context).',
      { type: 'KubeforkWarning', code: 'KUBEFORK_VERSION_CONFLICT' },
    );
  }
}

function sharedState(): SharedState {
  const holder = globalThis as Holder;
  let state = holder[STATE_KEY] as SharedState | undefined;
  if (state === undefined) {
    state = {
      version: VERSION,
      storage: new AsyncLocalStorage<ForkSlot>(),
      config: DEFAULT_CONFIG,
      sources: [],
      installations: new Map(),
    };
    defineHidden(holder, STATE_KEY, state);
  }
  checkOtherLines(holder);
  return state;
}

export const state: SharedState = sharedState();
