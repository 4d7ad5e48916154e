import { parseArgs } from 'node:util';
import type { Command } from './cli.js';
import {
  DEFAULT_HEADER_ALLOW_LIST,
  DEFAULT_MAX_FORK_TTL,
  DEFAULT_MAX_FORKS_PER_NAMESPACE,
} from './constants.js';
import { EXIT_INPUT, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { type ControllerOptions, startController } from './runtime/controller.js';
import { createJsonLogger, type LogLevel } from './runtime/logger.js';

const USAGE = `Usage: kubefork-controller run [options]

Runs the controller: watches VSConfigs, VirtualServices and Services and keeps one Istio
VirtualService per host equal to its plan (the same plan "render" prints); and reconciles Forks:
copies of the named Services' Deployments and Services, their VSConfigs, a preview URL, and
deletion when the TTL runs out. Stops gracefully on SIGTERM or SIGINT: in-flight reconciles
finish and the Lease is released.

Cluster access: $KUBECONFIG, else ~/.kube/config, else the pod's service account.

Options:
  -n, --namespace NS       manage only this namespace (default: all namespaces)
  --header-allow NAME      a header name VSConfigs may use (repeatable; default: ${DEFAULT_HEADER_ALLOW_LIST.join(', ')})
  --resync SECONDS         reconcile every host again this often (default: 300)
  --metrics-port N         port of /metrics, /healthz and /readyz (default: 8080)
  --leader-elect           run as one of several replicas: only the holder of the Lease
                           "kubefork-controller" reconciles
  --lease-namespace NS     namespace of that Lease (default: the pod's namespace)
  --cluster-domain NAME    cluster DNS suffix for fully qualified hosts (default: cluster.local)
  --workers N              hosts reconciled at the same time (default: 4)
  --max-fork-ttl DURATION  longest TTL a Fork gets, e.g. 24h or 7d (default: ${DEFAULT_MAX_FORK_TTL})
  --max-forks-per-namespace N
                           Forks per namespace; younger ones get QuotaExceeded (default: ${DEFAULT_MAX_FORKS_PER_NAMESPACE})
  --allowed-image-prefix P an image prefix a Fork may use (repeatable; default: any image)
  --preview-domain DOMAIN  preview URLs <fork id>.DOMAIN (needs --preview-gateway and --preview-entry)
  --preview-gateway NS/NAME
                           the Istio Gateway that serves DOMAIN
  --preview-entry NS/SERVICE
                           the Service a browser reaches first
  --disable-forks          do not reconcile Forks (for clusters without the Fork CRD)
  --log-level LEVEL        debug, info, warn or error (default: info); logs are JSON lines on stderr
  -h, --help               print this help

Exit status:
  0  stopped by SIGTERM or SIGINT
  1  could not start (no cluster configuration, metrics port in use)
  2  wrong usage
`;

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: false,
    strict: true,
    options: {
      namespace: { type: 'string', short: 'n' },
      'header-allow': { type: 'string', multiple: true },
      resync: { type: 'string' },
      'metrics-port': { type: 'string' },
      'leader-elect': { type: 'boolean' },
      'lease-namespace': { type: 'string' },
      'cluster-domain': { type: 'string' },
      workers: { type: 'string' },
      'log-level': { type: 'string' },
      'max-fork-ttl': { type: 'string' },
      'max-forks-per-namespace': { type: 'string' },
      'allowed-image-prefix': { type: 'string', multiple: true },
      'preview-domain': { type: 'string' },
      'preview-gateway': { type: 'string' },
      'preview-entry': { type: 'string' },
      'disable-forks': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** A number option; `undefined` when absent. Throws a usage error naming the option. */
function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) {
    throw new Error(`--${name} must be a number; received "${value}"`);
  }
  return number;
}

function toOptions(values: ReturnType<typeof parse>['values']): ControllerOptions {
  const level = (values['log-level'] ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(level)) {
    throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}; received "${level}"`);
  }
  const options: ControllerOptions = { logger: createJsonLogger({ level }) };
  if (values.namespace !== undefined) options.namespace = values.namespace;
  if (values['header-allow'] !== undefined) options.headerAllowList = values['header-allow'];
  if (values['cluster-domain'] !== undefined) options.clusterDomain = values['cluster-domain'];
  const resync = numberOption('resync', values.resync);
  if (resync !== undefined) options.resyncSeconds = resync;
  const port = numberOption('metrics-port', values['metrics-port']);
  if (port !== undefined) options.metricsPort = port;
  const workers = numberOption('workers', values.workers);
  if (workers !== undefined) options.workers = workers;
  if (values['disable-forks']) options.forks = false;
  if (values['max-fork-ttl'] !== undefined) options.maxForkTtl = values['max-fork-ttl'];
  const maxForks = numberOption('max-forks-per-namespace', values['max-forks-per-namespace']);
  if (maxForks !== undefined) options.maxForksPerNamespace = maxForks;
  if (values['allowed-image-prefix'] !== undefined) {
    options.allowedImagePrefixes = values['allowed-image-prefix'];
  }
  const preview = [values['preview-domain'], values['preview-gateway'], values['preview-entry']];
  if (preview.some((v) => v !== undefined)) {
    const [domain, gateway, entry] = preview;
    if (domain === undefined || gateway === undefined || entry === undefined) {
      throw new Error('--preview-domain, --preview-gateway and --preview-entry go together');
    }
    options.preview = { domain, gateway, entry };
  }
  if (values['lease-namespace'] !== undefined && !values['leader-elect']) {
    throw new Error('--lease-namespace needs --leader-elect');
  }
  if (values['leader-elect']) {
    options.leaderElection =
      values['lease-namespace'] === undefined
        ? true
        : { leaseNamespace: values['lease-namespace'] };
  }
  return options;
}

/**
 * Waits for the first SIGTERM or SIGINT. Handlers go as soon as one arrives, so a second signal
 * during a slow stop gets Node's default (exit at once).
 */
function firstSignal(): { received: Promise<NodeJS.Signals>; dispose(): void } {
  let handler: (signal: NodeJS.Signals) => void = () => {};
  const dispose = () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
  const received = new Promise<NodeJS.Signals>((resolve) => {
    handler = (signal) => {
      dispose();
      resolve(signal);
    };
  });
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return { received, dispose };
}

export const runCommand: Command = {
  summary: 'run the controller against the current cluster',
  usage: USAGE,
  async run(args, io) {
    let options: ControllerOptions;
    try {
      const { values } = parse(args);
      if (values.help) {
        io.stdout.write(USAGE);
        return EXIT_OK;
      }
      options = toOptions(values);
    } catch (error) {
      io.stderr.write(`kubefork-controller run: ${(error as Error).message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    // Listening before starting: a SIGTERM during startup still stops the controller cleanly.
    const signal = firstSignal();
    let controller: Awaited<ReturnType<typeof startController>>;
    try {
      controller = await startController(options);
    } catch (error) {
      signal.dispose();
      const usage = error instanceof TypeError && 'code' in error;
      io.stderr.write(`kubefork-controller run: ${(error as Error).message}\n`);
      return usage ? EXIT_USAGE : EXIT_INPUT;
    }
    const received = await signal.received;
    options.logger?.info('stopping', { signal: received });
    await controller.stop();
    return EXIT_OK;
  },
};
