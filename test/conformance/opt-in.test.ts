// The client cases for the per-client opt-ins of @kubefork/fetch, without the process-wide
// instrumentation: undici dispatchers composed with forkInterceptor(), and forkFetch(fetch).
import { forkFetch, forkInterceptor } from '@kubefork/fetch';
import * as undici from 'undici';
import { type ClientRow, headersOf } from './client-rows.js';
import { describeClients } from './client-table.js';
import { type Echo, type Fork, fork } from './support.js';
import { undiciRows } from './undici-rows.js';

let agent: undici.Dispatcher | undefined;
const composed = () => {
  agent ??= new undici.Agent().compose(forkInterceptor());
  return agent;
};

const forkFetchRow: ClientRow = {
  name: 'forkFetch(globalThis.fetch)',
  open: (targets) => {
    const fetch = forkFetch(globalThis.fetch);
    return {
      async call(headers) {
        const events: Fork[] = [];
        const res = await fetch(targets.http, {
          headers: headersOf(headers) as Record<string, string>,
        });
        events.push(fork());
        const echo = (await res.json()) as Echo;
        events.push(fork());
        return { echo, events };
      },
      close: async () => {},
    };
  },
};

describeClients([...undiciRows(' with forkInterceptor', composed, []), forkFetchRow], () => [
  () => {
    void agent?.close();
  },
]);
