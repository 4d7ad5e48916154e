// Every client integration runs the same cases (rows: client-rows.ts, cases: client-table.ts)
// against echo servers on 127.0.0.1: node:http(s) through instrumentHttp, fetch and undici
// through instrumentFetch (Node's bundled undici: this file loads no npm undici; undici.test.ts
// runs npm undici), gRPC through forkClientInterceptor.
import { instrumentFetch } from '@kubefork/fetch';
import { instrumentHttp } from '@kubefork/http';
import { clientRows } from './client-rows.js';
import { describeClients } from './client-table.js';

describeClients(clientRows(), () => [instrumentHttp(), instrumentFetch()]);
