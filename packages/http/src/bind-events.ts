import { AsyncResource } from 'node:async_hooks';
import type { EventEmitter } from 'node:events';

/**
 * Makes every event of `emitter` run its listeners in the current async context. Node emits the
 * events of a server request's body from the connection's context, not the listener's, whenever
 * the body arrives after the headers, so body listeners would see no fork (nodejs/node#33723;
 * verified on Node 20.20, 22.23 and 24.22, where even `'end'` of a body sent together with the
 * headers is affected). An HTTP/2 stream's `'data'`, `'end'`, `'trailers'`… come from the
 * session's socket in the same way.
 */
export function bindEvents(emitter: EventEmitter): void {
  const resource = new AsyncResource('kubefork.request');
  const emit = emitter.emit;
  emitter.emit = function emitInForkContext(this: EventEmitter, ...args: unknown[]) {
    return resource.runInAsyncScope(emit, this, ...args);
  } as EventEmitter['emit'];
}
