import { COMMON_USAGE, OUTPUT_OPTION, outputFormat, parse } from '../args.js';
import type { Command } from '../command.js';
import { EXIT_OK, usageError } from '../errors.js';
import { listForks } from '../fork-api.js';
import { expiresIn, forkIdOf, readyCondition, readyState } from '../fork-view.js';
import { render, table } from '../output.js';
import { targetOf } from '../target.js';

export const lsCommand: Command = {
  summary: 'list the Forks of a namespace (-A: of every namespace)',
  usage: `Usage: kubefork ls [options]

Lists Forks: fork id, services, readiness, time left, preview URL.

Options:
  -A, --all-namespaces     list the Forks of every namespace
  -o, --output FORMAT      table (default), json or yaml

${COMMON_USAGE}
`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      ...OUTPUT_OPTION,
      'all-namespaces': { type: 'boolean', short: 'A' },
    });
    if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`);
    const format = outputFormat(values.output);
    const all = values['all-namespaces'] === true;
    const target = await targetOf(values);
    const forks = await listForks(target, all);
    const now = Date.now();
    const rows = forks.map((fork) => ({
      namespace: fork.metadata.namespace ?? '',
      name: fork.metadata.name ?? '',
      forkId: forkIdOf(fork),
      services: fork.spec.services.map((service) => service.name),
      ready: readyState(fork),
      reason: readyCondition(fork)?.reason ?? '',
      expiresAt: fork.status?.expiresAt ?? null,
      previewURL: fork.status?.previewURL ?? null,
    }));
    io.stdout.write(
      render(format, { items: rows }, () => {
        if (rows.length === 0) return '';
        const headers = ['FORK ID', 'SERVICES', 'READY', 'EXPIRES', 'PREVIEW'];
        const cells = rows.map((row, i) => [
          row.forkId,
          row.services.join(','),
          row.ready === 'False' && row.reason ? `False (${row.reason})` : row.ready,
          expiresIn(forks[i]!, now),
          row.previewURL ?? '-',
        ]);
        return all
          ? table(
              ['NAMESPACE', ...headers],
              cells.map((c, i) => [rows[i]!.namespace, ...c]),
            )
          : table(headers, cells);
      }),
    );
    if (rows.length === 0 && format === 'table') {
      io.stderr.write(all ? 'No Forks.\n' : `No Forks in namespace ${target.namespace}.\n`);
    }
    return EXIT_OK;
  },
};
