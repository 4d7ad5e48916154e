import { state } from './store.js';

/**
 * Installs something process-wide at most once, for integrations (the http and fetch
 * instrumentations): `install` runs only when nothing is installed under `key`, and returns the
 * function that takes it out again. Installations live in the process-wide kubefork state, so
 * two copies of an integration in one process (ESM and CJS, or a duplicated dependency) install
 * once between them. Each call counts one more user and returns its own uninstall function,
 * which works once; the last one removes the installation, and a later call installs afresh.
 *
 * @example
 * export const instrumentThing = () =>
 *   installShared(Symbol.for('acme.thing'), () => {
 *     subscribe('thing:start', onStart);
 *     return () => unsubscribe('thing:start', onStart);
 *   });
 */
export function installShared(key: symbol, install: () => () => void): () => void {
  let installation = state.installations.get(key);
  if (installation === undefined || installation.users === 0) {
    installation = { users: 0, remove: install() };
    state.installations.set(key, installation);
  }
  installation.users++;
  const current = installation;
  let done = false;
  return function uninstall() {
    if (done) return;
    done = true;
    if (--current.users === 0) {
      if (state.installations.get(key) === current) state.installations.delete(key);
      current.remove();
    }
  };
}
