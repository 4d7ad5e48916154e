// Loaded with --import: any attempt to load @kubernetes/client-node fails, so a test can prove
// which commands start without it.
import { register } from 'node:module';

const hooks = `export async function resolve(specifier, context, next) {
  if (specifier === '@kubernetes/client-node' || specifier.startsWith('@kubernetes/client-node/')) {
    throw new Error('blocked: @kubernetes/client-node was loaded');
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
