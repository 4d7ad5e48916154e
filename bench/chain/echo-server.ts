// A node:http server that answers at once: the target of the load generator's ceiling check.

import { createServer } from 'node:http';
import { FORK_HEADER } from './protocol.js';
import { createCounters, record, serveOrchestrator } from './service-process.js';

const counters = createCounters();
const body = Buffer.from('{"ok":true}');
const server = createServer(function echo(req, res) {
  record(counters, req.headers[FORK_HEADER], req.headers.baggage, undefined);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  serveOrchestrator(counters, typeof address === 'object' && address ? address.port : 0, () =>
    server.close(),
  );
});
