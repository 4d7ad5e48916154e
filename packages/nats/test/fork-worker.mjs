// Alice's fork worker as a separate process, so a test can kill it (SIGKILL) in the middle of
// its work. Runs the built package (`tsc -b` first). Prints `ready`, then one JSON line per
// message handled: { id, fork }.
// Usage: node fork-worker.mjs <servers> <stream> <consumer> <forkId> <refreshInterval>
import { getForkId } from '@kubefork/context';
import { connect } from '@nats-io/transport-node';
import { forkConsumer } from '../dist/index.js';

const [servers, stream, consumer, forkId, refreshInterval] = process.argv.slice(2);
const nc = await connect({ servers });
await forkConsumer(nc, {
  stream,
  consumer,
  forkAware: true,
  forkId,
  refreshInterval: Number(refreshInterval),
  callback: (msg) => {
    process.stdout.write(`${JSON.stringify({ id: msg.string(), fork: getForkId() })}\n`);
  },
  onError: (error) => process.stderr.write(`${String(error)}\n`),
});
process.stdout.write('ready\n');
