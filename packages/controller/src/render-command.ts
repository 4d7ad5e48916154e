import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { CliIO, Command } from './cli.js';
import { DEFAULT_CLUSTER_DOMAIN, DEFAULT_HEADER_ALLOW_LIST } from './constants.js';
import { EXIT_INPUT, EXIT_OK, EXIT_REJECTED, EXIT_USAGE } from './exit-codes.js';
import { RenderInputError, type RenderSource, render } from './render.js';

const USAGE = `Usage: kubefork-controller render [options] FILE... | -

Plans the Istio VirtualServices for the VSConfigs in FILE (multi-document YAML; "-" reads stdin),
exactly as the running controller would, and prints them as multi-document YAML. Existing
VirtualServices in the input are taken into account (adoption, foreign claims); other objects are
skipped.

Options:
  --header-allow NAME     a header name VSConfigs may use (repeatable; default: ${DEFAULT_HEADER_ALLOW_LIST.join(', ')})
  -n, --namespace NS      namespace of objects that name none (default: default)
  --cluster-domain NAME   cluster DNS suffix for fully qualified hosts (default: ${DEFAULT_CLUSTER_DOMAIN})
  -h, --help              print this help

Output:
  stdout  the VirtualServices, one YAML document each
  stderr  one line per rejected VSConfig: namespace/name: Reason: message

Exit status:
  0  every VSConfig was accepted
  1  the input could not be read (the message names file, line and column)
  2  wrong usage
  3  some VSConfigs were rejected (the accepted ones are still printed)
`;

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readSources(files: readonly string[], io: CliIO): Promise<RenderSource[]> {
  const sources: RenderSource[] = [];
  for (const file of files) {
    if (file === '-') {
      sources.push({ name: '<stdin>', text: await readAll(io.stdin) });
      continue;
    }
    try {
      sources.push({ name: file, text: await readFile(file, 'utf8') });
    } catch (error) {
      // Node's message reads "ENOENT: no such file or directory, open 'x.yaml'"; keep the cause.
      const cause = (error as Error).message.split(', ')[0];
      throw new RenderInputError(`${file}: cannot read (${cause})`);
    }
  }
  return sources;
}

export const renderCommand: Command = {
  summary: 'print the VirtualServices planned for VSConfigs in YAML files',
  usage: USAGE,
  async run(args, io) {
    let parsed: ReturnType<typeof parse>;
    try {
      parsed = parse(args);
    } catch (error) {
      io.stderr.write(`kubefork-controller render: ${(error as Error).message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout.write(USAGE);
      return EXIT_OK;
    }
    if (positionals.length === 0) {
      io.stderr.write(
        `kubefork-controller render: no input (give FILE... or - for stdin)\n\n${USAGE}`,
      );
      return EXIT_USAGE;
    }
    if (positionals.filter((file) => file === '-').length > 1) {
      io.stderr.write('kubefork-controller render: "-" (stdin) can be read only once\n');
      return EXIT_USAGE;
    }
    try {
      const sources = await readSources(positionals, io);
      const output = render(sources, {
        namespace: values.namespace,
        headerAllowList: values['header-allow'] ?? DEFAULT_HEADER_ALLOW_LIST,
        clusterDomain: values['cluster-domain'],
      });
      io.stdout.write(output.yaml);
      for (const line of output.rejected) io.stderr.write(`${line}\n`);
      return output.rejected.length === 0 ? EXIT_OK : EXIT_REJECTED;
    } catch (error) {
      if (error instanceof RenderInputError) {
        io.stderr.write(`kubefork-controller render: ${error.message}\n`);
        return EXIT_INPUT;
      }
      if (error instanceof TypeError && 'code' in error) {
        // planHost refused an option value given on the command line.
        io.stderr.write(`kubefork-controller render: ${error.message}\n`);
        return EXIT_USAGE;
      }
      throw error;
    }
  },
};

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      'header-allow': { type: 'string', multiple: true },
      namespace: { type: 'string', short: 'n' },
      'cluster-domain': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
