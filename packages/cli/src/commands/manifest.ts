import { stringifyYaml } from '@kubefork/controller/plan';
import { COMMON_USAGE, parse, stringValue } from '../args.js';
import type { Command } from '../command.js';
import { EXIT_OK, usageError } from '../errors.js';
import { buildFork, FORK_OPTIONS, FORK_USAGE } from '../fork-spec.js';

export const manifestCommand: Command = {
  summary: 'print the Fork YAML for SERVICE... without a cluster (GitOps, reviews)',
  usage: `Usage: kubefork manifest SERVICE... [options]

Prints the Fork that "kubefork fork" would apply, as YAML that kubectl (YAML 1.1) and YAML 1.2
readers read alike. Needs no cluster. metadata.namespace is set only with -n.

Options:
${FORK_USAGE}
  -o, --output yaml|json   output format (default yaml)

${COMMON_USAGE}
`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      ...FORK_OPTIONS,
      output: { type: 'string', short: 'o' },
    });
    const output = stringValue(values.output) ?? 'yaml';
    if (output !== 'yaml' && output !== 'json') {
      throw usageError(`-o must be yaml or json for manifest, not "${output}"`);
    }
    const fork = buildFork(positionals, values, stringValue(values.namespace));
    io.stdout.write(output === 'json' ? `${JSON.stringify(fork, null, 2)}\n` : stringifyYaml(fork));
    return EXIT_OK;
  },
};
