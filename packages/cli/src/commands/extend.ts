import { EXTEND_AT_ANNOTATION, parseDuration } from '@kubefork/controller/plan';
import { COMMON_USAGE, parse } from '../args.js';
import type { Command } from '../command.js';
import { CliError, EXIT_OK, usageError } from '../errors.js';
import { findFork, patchFork } from '../fork-api.js';
import { forkName } from '../fork-spec.js';
import { expiresIn, forkIdOf, ttlCap, ttlCapMessage } from '../fork-view.js';
import { targetOf } from '../target.js';
import { waitObserved } from '../wait.js';

export const extendCommand: Command = {
  summary: 'give a Fork DURATION more, counted from now',
  usage: `Usage: kubefork extend ID DURATION [options]

Restarts the Fork's clock: it expires DURATION from now (e.g. 8h, 90m, 2d). Sets the annotation
${EXTEND_AT_ANNOTATION} to now, and spec.ttl to DURATION when it differs (changing spec.ttl is a
spec change: the admission policy then checks that you may create deployments and services).
Fails (exit 1) when the cluster's cap (kubefork-controller --max-fork-ttl) cuts DURATION.

${COMMON_USAGE}
`,
  async run(args, io) {
    const { values, positionals } = parse(args, {});
    if (positionals.length !== 2) throw usageError('give a fork ID and a DURATION');
    const [id, duration] = positionals as [string, string];
    if (parseDuration(duration) === undefined || duration.length > 32) {
      throw usageError(`"${duration}" is not a duration such as 8h, 90m, 1h30m or 2d`);
    }
    const target = await targetOf(values);
    const fork = await findFork(target, id, forkName(id));
    const name = fork.metadata.name!;
    const patch: { metadata: unknown; spec?: unknown } = {
      metadata: { annotations: { [EXTEND_AT_ANNOTATION]: new Date().toISOString() } },
    };
    if ((fork.spec.ttl ?? '8h') !== duration) patch.spec = { ttl: duration };
    await patchFork(target, name, patch);
    const current = await waitObserved(target, name, 5000);
    const restarted =
      current?.status?.clock?.extendAt !== undefined &&
      current.status.clock.extendAt ===
        (patch.metadata as { annotations: Record<string, string> }).annotations[
          EXTEND_AT_ANNOTATION
        ];
    if (!current || !restarted) {
      io.stdout.write(`${forkIdOf(fork)}: extended to ${duration} from now\n`);
      io.stderr.write(
        'The controller has not confirmed the new deadline yet; "kubefork status" shows it.\n',
      );
      return EXIT_OK;
    }
    const cap = ttlCap(current);
    if (cap) throw new CliError(ttlCapMessage(current, cap));
    io.stdout.write(
      `${forkIdOf(current)}: expires at ${current.status?.expiresAt} (${expiresIn(current)})\n`,
    );
    return EXIT_OK;
  },
};
