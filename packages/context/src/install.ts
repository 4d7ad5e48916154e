/** One process-wide installation: how many users hold it, and how to take it out. */
interface Installation {
  users: number;
  remove: () => void;
}

/**
 * Installs something process-wide at most once, for integrations (the http and fetch
 * instrumentations): `install` runs only when nothing is installed under `key`, and returns the
 * function that takes it out again. The state lives on `globalThis` under `key` (use a
 * `Symbol.for` name), so two copies of an integration in one process (ESM and CJS, or a
 * duplicated dependency) install once between them. Each call counts one more user and returns
 * its own uninstall function, which works once; the last one removes the installation, and a
 * later call installs afresh.
 *
 * @example
 * export const instrumentThing = () =>
 *   installShared(Symbol.for('acme.thing'), () => {
 *     subscribe('thing:start', onStart);
 *     return () => unsubscribe('thing:start', onStart);
 *   });
 */
export function installShared(key: symbol, install: () => () => void): () => void {
  const holder = globalThis as { [key: symbol]: Installation | undefined };
  let installation = holder[key];
  if (installation === undefined || installation.users === 0) {
    installation = { users: 0, remove: install() };
    Object.defineProperty(holder, key, { value: installation, configurable: true });
  }
  installation.users++;
  const current = installation;
  let done = false;
  return function uninstall() {
    if (done) return;
    done = true;
    if (--current.users === 0) current.remove();
  };
}
