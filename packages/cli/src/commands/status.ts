import { COMMON_USAGE, OUTPUT_OPTION, outputFormat, parse } from '../args.js';
import type { Command } from '../command.js';
import { EXIT_OK, usageError } from '../errors.js';
import { findFork } from '../fork-api.js';
import { forkName } from '../fork-spec.js';
import { expiresIn, FORK_HEADER, forkIdOf, readyCondition, readyState } from '../fork-view.js';
import { render, table } from '../output.js';
import { serviceRows } from '../service-rows.js';
import { targetOf } from '../target.js';

export const statusCommand: Command = {
  summary: 'show a Fork per service: copy, ready replicas, route, and why not when not Ready',
  usage: `Usage: kubefork status ID [options]

Shows the Fork ID: whether it is Ready, when it expires, its preview URL, and per service the
copy, its ready replicas, the state of its route (the VSConfig) and the reason when it is not
forked.

Options:
  -o, --output FORMAT      table (default), json or yaml

${COMMON_USAGE}
`,
  async run(args, io) {
    const { values, positionals } = parse(args, OUTPUT_OPTION);
    const format = outputFormat(values.output);
    if (positionals.length !== 1) throw usageError('give exactly one fork ID');
    const id = positionals[0]!;
    const target = await targetOf(values);
    const fork = await findFork(target, id, forkName(id));
    const rows = await serviceRows(target, fork);
    const condition = readyCondition(fork);
    const data = {
      namespace: fork.metadata.namespace,
      name: fork.metadata.name,
      forkId: forkIdOf(fork),
      header: `${FORK_HEADER}: ${forkIdOf(fork)}`,
      ready: readyState(fork),
      reason: condition?.reason ?? null,
      message: condition?.message ?? null,
      expiresAt: fork.status?.expiresAt ?? null,
      previewURL: fork.status?.previewURL ?? null,
      services: rows,
    };
    io.stdout.write(
      render(format, data, () => {
        const head = [
          `Fork:      ${data.forkId} (namespace ${data.namespace})`,
          `Header:    ${data.header}`,
          `Ready:     ${data.ready}${data.reason && data.ready !== 'True' ? ` (${data.reason}: ${data.message})` : ''}`,
          `Expires:   ${data.expiresAt ? `${data.expiresAt} (${expiresIn(fork)})` : '-'}`,
          ...(data.previewURL ? [`Preview:   ${data.previewURL}`] : []),
          '',
        ].join('\n');
        return `${head}\n${table(
          ['SERVICE', 'COPY', 'READY', 'ROUTE', 'REASON'],
          rows.map((row) => [
            row.service,
            row.copy,
            `${row.readyReplicas}/${row.replicas}`,
            row.route,
            row.reason ? `${row.reason}: ${row.message}` : '',
          ]),
        )}`;
      }),
    );
    return EXIT_OK;
  },
};
