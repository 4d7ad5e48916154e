// Service F, run as a child process: consumes the events E publishes, each in the fork of its
// message, and tells the demo (over IPC) which fork it saw. It shares nothing with E but NATS.
import { configure, getForkId } from '@kubefork/context';
import { forkNats } from '@kubefork/nats';
import { connect } from '@nats-io/transport-node';
import type { ConsumerReport, OrderEvent } from './events.js';
import { SUBJECT } from './events.js';

function report(message: ConsumerReport): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const servers = process.env.NATS_SERVERS;
  if (servers === undefined) throw new Error('NATS_SERVERS is not set');
  configure({ onInvalid: (value, reason) => report({ type: 'invalid', value, reason }) });
  const nc = forkNats(await connect({ servers, name: 'service-f' }));
  nc.subscribe(SUBJECT, {
    callback: function handleOrder(error, msg) {
      if (error !== null) return;
      // What a real handler would do here (call a forked service, write to a forked table)
      // follows getForkId(); the demo only records it.
      const event = msg.json<OrderEvent>();
      report({
        type: 'seen',
        request: event.request,
        fork: getForkId() ?? null,
        header: msg.headers?.get('x-fork-identifier') || null,
      });
    },
  });
  await nc.flush();
  report({ type: 'ready' });
  // The demo ends F by closing the IPC channel (or by a signal).
  process.once('disconnect', () => {
    nc.close().finally(() => process.exit(0));
  });
}

main().catch((error: Error) => {
  console.error(`service F failed: ${error.message}`);
  process.exit(1);
});
