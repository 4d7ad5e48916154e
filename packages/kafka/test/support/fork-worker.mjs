// A fork's worker in a process of its own (KUBEFORK_FORK_ID in its environment), so that a test
// can stop it gracefully (IPC 'stop': disconnect, leave the group) or kill it (SIGKILL: no leave,
// the broker notices after the session timeout). Runs the built package (`tsc -b` first).
// Every handled message is appended to LOG synchronously ("<value> <fork or -> <ms>"), so what it
// handled survives a SIGKILL; DELAY_MS makes each handling that slow (a worker that lags).
// Usage: node fork-worker.mjs BROKER TOPIC GROUP LOG SESSION_MS [DELAY_MS]
import { appendFileSync } from 'node:fs';
import { getForkId } from '@kubefork/context';
import { Kafka, logLevel } from 'kafkajs';
import { forkConsumer } from '../../dist/index.js';

const [broker, topic, groupId, log, session, delay = '0'] = process.argv.slice(2);
const kafka = new Kafka({
  clientId: 'fork-worker',
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  retry: { retries: 8, initialRetryTime: 100 },
});
const consumer = forkConsumer(
  kafka,
  { groupId, sessionTimeout: Number(session), heartbeatInterval: 500, maxWaitTimeInMs: 100 },
  { forkAware: true },
);
consumer.on(consumer.events.GROUP_JOIN, () => process.send?.('joined'));
process.on('message', (message) => {
  if (message !== 'stop') return;
  consumer.disconnect().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
await consumer.connect();
await consumer.subscribe({ topics: [topic], fromBeginning: true });
await consumer.run({
  eachMessage: async ({ message }) => {
    if (delay !== '0') await new Promise((done) => setTimeout(done, Number(delay)));
    appendFileSync(log, `${message.value} ${getForkId() ?? '-'} ${Date.now()}\n`);
  },
});
