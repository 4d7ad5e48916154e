import { AsyncLocalStorage } from 'node:async_hooks';
import { DEFAULT_CONFIG, type ForkConfig } from './config.js';

/** Marks a scope that explicitly has no fork (a baseline request), as opposed to "not entered". */
export const NO_FORK: unique symbol = Symbol.for('kubefork.context.no-fork') as never;

export type ForkSlot = string | typeof NO_FORK;

/**
 * The process-wide state. It lives on `globalThis` under a registered symbol so that two copies
 * of this package in one dependency tree (a hoisting accident, a bundled copy, ESM + CJS) share
 * one store and one configuration; otherwise a fork captured by one copy would be invisible to
 * the other, and outbound calls made through it would silently fall back to baseline.
 */
export interface SharedState {
  readonly version: 1;
  readonly storage: AsyncLocalStorage<ForkSlot>;
  config: ForkConfig;
}

const STATE_KEY = Symbol.for('kubefork.context');

function sharedState(): SharedState {
  const holder = globalThis as { [STATE_KEY]?: SharedState };
  let state = holder[STATE_KEY];
  if (state === undefined) {
    state = { version: 1, storage: new AsyncLocalStorage<ForkSlot>(), config: DEFAULT_CONFIG };
    Object.defineProperty(holder, STATE_KEY, { value: state, enumerable: false });
  }
  return state;
}

export const state: SharedState = sharedState();
