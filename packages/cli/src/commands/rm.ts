import { setTimeout as sleep } from 'node:timers/promises';
import { FORK_LABEL, parseDuration } from '@kubefork/controller/plan';
import { COMMON_USAGE, parse, stringValue } from '../args.js';
import type { Command } from '../command.js';
import { CliError, EXIT_OK, usageError } from '../errors.js';
import { deleteFork, findFork, getFork, listNames } from '../fork-api.js';
import { forkName } from '../fork-spec.js';
import { forkIdOf } from '../fork-view.js';
import { humanDuration } from '../output.js';
import { targetOf } from '../target.js';

export const rmCommand: Command = {
  summary: 'delete a Fork and everything it made',
  usage: `Usage: kubefork rm ID [options]

Deletes the Fork ID. Kubernetes' garbage collector then deletes its copies, Services and
VSConfigs (the Fork owns them), and the controller removes its routes and preview.

Options:
  --wait                   wait until the Fork and everything it made are gone
  --timeout DURATION       how long --wait waits (default 5m)

${COMMON_USAGE}
`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
    });
    if (positionals.length !== 1) throw usageError('give exactly one fork ID');
    const timeoutText = stringValue(values.timeout) ?? '5m';
    const timeoutMs = parseDuration(timeoutText);
    if (timeoutMs === undefined) throw usageError(`--timeout "${timeoutText}" is not a duration`);
    const id = positionals[0]!;
    const target = await targetOf(values);
    const fork = await findFork(target, id, forkName(id));
    const name = fork.metadata.name!;
    const forkId = forkIdOf(fork);
    await deleteFork(target, name);
    if (values.wait) {
      const deadline = Date.now() + timeoutMs;
      const selector = `${FORK_LABEL}=${forkId}`;
      let left: string[] = [];
      for (;;) {
        left = [];
        if (await getFork(target, name)) left.push(`Fork ${name}`);
        for (const resource of ['deployments', 'services', 'vsconfigs'] as const) {
          const names = await listNames(target, resource, selector);
          if (names !== 'forbidden') left.push(...names.map((n) => `${resource} ${n}`));
        }
        if (left.length === 0) break;
        if (Date.now() >= deadline) {
          throw new CliError(
            `${forkId} was deleted, but after ${humanDuration(timeoutMs)} these remain: ${left.join(', ')}`,
          );
        }
        await sleep(500);
      }
    }
    io.stdout.write(
      `fork ${forkId} deleted${values.wait ? ', and everything it made is gone' : ''}\n`,
    );
    return EXIT_OK;
  },
};
