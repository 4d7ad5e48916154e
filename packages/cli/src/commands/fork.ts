import { parseDuration } from '@kubefork/controller/plan';
import { COMMON_USAGE, parse, stringValue } from '../args.js';
import type { Command } from '../command.js';
import { CliError, EXIT_OK, usageError } from '../errors.js';
import { applyFork, getObject } from '../fork-api.js';
import { buildFork, FORK_OPTIONS, FORK_USAGE } from '../fork-spec.js';
import { FORK_HEADER, forkIdOf, observed, ttlCap, ttlCapMessage } from '../fork-view.js';
import { serviceRows } from '../service-rows.js';
import { targetOf } from '../target.js';
import { permanentFailure, waitObserved, waitReady } from '../wait.js';

/** How long `fork` without --wait gives the controller to report (for the preview URL). */
const REPORT_WAIT_MS = 5000;

export const forkCommand: Command = {
  summary: 'create or update your Fork of SERVICE... (server-side apply)',
  usage: `Usage: kubefork fork SERVICE... [options]

Creates or updates the Fork (server-side apply, field manager kubefork-cli): the controller copies
each SERVICE's Deployment and Service and routes requests that carry your fork id to the copies.
Prints the fork id, the header to send, and the preview URL when the cluster has one.

Options:
${FORK_USAGE}
  --wait                   wait until every copy is routed and its replicas are ready
  --timeout DURATION       how long --wait waits (default 5m); exit 1 naming what is missing

${COMMON_USAGE}

Example:
  kubefork fork cart pay --id alice --image cart=registry.example.com/cart:pr-123 --wait
`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      ...FORK_OPTIONS,
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
    });
    const timeoutText = stringValue(values.timeout) ?? '5m';
    const timeoutMs = parseDuration(timeoutText);
    if (timeoutMs === undefined) {
      throw usageError(`--timeout "${timeoutText}" is not a duration such as 5m or 90s`);
    }
    const fork = buildFork(positionals, values, undefined);
    const target = await targetOf(values);
    fork.metadata.namespace = target.namespace;

    // A misspelt service is told now, not as a status line later. Users who may create services
    // may read them; when they may not, the controller's status says it instead.
    for (const service of fork.spec.services) {
      const found = await getObject(target, 'services', service.name);
      if (found === undefined) {
        throw new CliError(
          `unknown service "${service.name}" in namespace ${target.namespace} (kubectl get services -n ${target.namespace} lists them)`,
        );
      }
    }
    await applyFork(target, fork);
    const name = fork.metadata.name!;
    const forkId = fork.spec.forkId ?? name;

    const current = values.wait
      ? await waitReady(target, name, timeoutMs, io)
      : await waitObserved(target, name, REPORT_WAIT_MS);
    if (current && !values.wait) {
      const failure = permanentFailure(current, await serviceRows(target, current));
      if (failure) throw failure;
    }
    const lines = [
      `fork:      ${current ? forkIdOf(current) : forkId}`,
      `namespace: ${target.namespace}`,
      `header:    ${FORK_HEADER}: ${forkId}`,
    ];
    if (current?.status?.previewURL) lines.push(`preview:   ${current.status.previewURL}`);
    if (current?.status?.expiresAt) lines.push(`expires:   ${current.status.expiresAt}`);
    io.stdout.write(`${lines.join('\n')}\n`);
    const cap = current && observed(current) ? ttlCap(current) : undefined;
    if (cap) io.stderr.write(`kubefork fork: warning: ${ttlCapMessage(current!, cap)}\n`);
    if (!current || !observed(current)) {
      io.stderr.write(
        `The controller has not reported on ${forkId} yet; "kubefork status ${forkId} -n ${target.namespace}" shows its progress.\n`,
      );
    }
    io.stderr.write(
      `Requests that carry "${FORK_HEADER}: ${forkId}" reach your copies; remove them with "kubefork rm ${forkId} -n ${target.namespace}".\n`,
    );
    return EXIT_OK;
  },
};
