// The undici CLIENT rows (request, stream, pipeline, dispatch) for a given dispatcher. Kept apart
// from client-rows.ts: importing npm undici makes its Agent the process-wide dispatcher that
// global fetch then uses too, so the files that test Node's bundled undici must not load it.
import { Writable } from 'node:stream';
import * as undici from 'undici';
import { type Called, type ClientCase, type ClientRow, headersOf } from './client-rows.js';
import { type Echo, type Fork, fork } from './support.js';

async function readUndiciBody(body: NodeJS.ReadableStream, events: Fork[]): Promise<Echo> {
  let text = '';
  body.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    body.on('data', (chunk: string) => {
      events.push(fork());
      text += chunk;
    });
    body.on('end', () => {
      events.push(fork());
      resolve();
    });
    body.on('error', reject);
  });
  return JSON.parse(text) as Echo;
}

export function undiciRows(
  label: string,
  dispatcher: () => undici.Dispatcher,
  gaps: readonly ClientCase[] = [],
): ClientRow[] {
  return [
    {
      name: `undici request${label}`,
      gaps,
      open: (targets) => ({
        async call(headers) {
          const events: Fork[] = [];
          const res = await undici.request(targets.http, {
            headers: headersOf(headers) as Record<string, string>,
            dispatcher: dispatcher(),
          });
          events.push(fork());
          return { echo: await readUndiciBody(res.body, events), events };
        },
        close: async () => {},
      }),
    },
    {
      name: `undici stream${label}`,
      gaps,
      open: (targets) => ({
        async call(headers) {
          const events: Fork[] = [];
          let text = '';
          await undici.stream(
            targets.http,
            {
              method: 'GET',
              headers: headersOf(headers) as Record<string, string>,
              dispatcher: dispatcher(),
            },
            () => {
              events.push(fork());
              return new Writable({
                write(chunk: Buffer, _encoding, callback) {
                  events.push(fork());
                  text += chunk.toString('utf8');
                  callback();
                },
                final(callback) {
                  events.push(fork());
                  callback();
                },
              });
            },
          );
          return { echo: JSON.parse(text) as Echo, events };
        },
        close: async () => {},
      }),
    },
    {
      name: `undici pipeline${label}`,
      gaps,
      open: (targets) => ({
        async call(headers) {
          const events: Fork[] = [];
          const duplex = undici.pipeline(
            targets.http,
            {
              method: 'GET',
              headers: headersOf(headers) as Record<string, string>,
              dispatcher: dispatcher(),
            },
            ({ body }) => {
              events.push(fork());
              return body;
            },
          );
          duplex.end();
          return { echo: await readUndiciBody(duplex, events), events };
        },
        close: async () => {},
      }),
    },
    {
      name: `undici dispatch${label}`,
      gaps,
      open: (targets) => ({
        call: (headers) =>
          new Promise<Called>((resolve, reject) => {
            const events: Fork[] = [];
            const url = new URL(targets.http);
            let text = '';
            dispatcher().dispatch(
              {
                origin: url.origin,
                path: url.pathname,
                method: 'GET',
                headers: headersOf(headers) as Record<string, string>,
              },
              {
                onConnect() {},
                onHeaders() {
                  events.push(fork());
                  return true;
                },
                onData(chunk: Buffer) {
                  events.push(fork());
                  text += chunk.toString('utf8');
                  return true;
                },
                onComplete() {
                  events.push(fork());
                  resolve({ echo: JSON.parse(text) as Echo, events });
                },
                onError: reject,
              } as unknown as undici.Dispatcher.DispatchHandler,
            );
          }),
        close: async () => {},
      }),
    },
  ];
}
