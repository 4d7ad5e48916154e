// Loaded with --import: any attempt to load @kubernetes/client-node fails, so a test can prove
// which commands start without it. module.registerHooks (Node 22.15+) where there is one:
// Node 26 deprecates module.register, and its warning would be the CLI's stderr.
import * as module from 'node:module';

const blocked = (specifier) =>
  specifier === '@kubernetes/client-node' || specifier.startsWith('@kubernetes/client-node/');
const message = 'blocked: @kubernetes/client-node was loaded';

if (typeof module.registerHooks === 'function') {
  module.registerHooks({
    resolve(specifier, context, next) {
      if (blocked(specifier)) throw new Error(message);
      return next(specifier, context);
    },
  });
} else {
  const hooks = `export async function resolve(specifier, context, next) {
    if ((${blocked.toString()})(specifier)) throw new Error(${JSON.stringify(message)});
    return next(specifier, context);
  }`;
  module.register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}
