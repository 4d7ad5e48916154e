import type { ClientRequest, IncomingMessage } from 'node:http';

/** Resolves with the response once its body has been read; rejects on a request error. */
export function finish(request: ClientRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    request.on('error', reject);
    request.on('response', (response) => {
      response.resume();
      response.on('end', () => resolve(response));
    });
  });
}
