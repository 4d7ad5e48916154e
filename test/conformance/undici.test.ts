// The client cases for npm undici's request, stream, pipeline and dispatch through
// instrumentFetch (rows: undici-rows.ts, cases: client-table.ts).
import { instrumentFetch } from '@kubefork/fetch';
import * as undici from 'undici';
import { describeClients } from './client-table.js';
import { undiciRows } from './undici-rows.js';

describeClients(
  undiciRows('', () => undici.getGlobalDispatcher()),
  () => [instrumentFetch()],
);
