// `pnpm demo`: starts the mesh, sends the demo requests, prints where every hop went and exits
// non-zero if any hop went to the wrong instance. With --target it sends the same requests to
// a mesh that already runs (the one of k8s/ in a cluster) instead of starting one.
import { parseArgs } from 'node:util';
import { DEMO_CASES } from './cases.js';
import { requestChain } from './client.js';
import { loadVSConfigs, planVirtualServices } from './forks.js';
import { reasonsSince } from './invalid-log.js';
import { type CaseVerdict, judgeCase } from './judge.js';
import { type Mesh, startMesh } from './mesh.js';
import { formatColumns, verdictTable } from './table.js';
import { SERVICES } from './topology.js';

const USAGE = `Usage: node dist/demo.js [--target URL]

Starts services A (Express) → B (Fastify) → C (gRPC) → E (node:http), the forks declared in
k8s/forks/ and a local router that applies the planned VirtualServices, then sends one request
per case and prints which instance served every hop. Exit code 0: every hop went where the
VSConfigs send it; 1: some did not (or the mesh failed); 130: interrupted.

  --target URL   send the requests to service A at URL (e.g. a mesh running in a cluster)
                 instead of starting a local mesh
  -h, --help     show this text`;

function describeForks(mesh: Pick<Mesh, 'vsconfigs' | 'virtualServices'>): string {
  const rows = mesh.vsconfigs.map(({ metadata, spec }) => [
    `  ${metadata.name ?? '?'}`,
    `host ${spec.host} → ${spec.service}`,
    `when ${spec.headerName ?? 'x-fork-identifier'}: ${spec.headerValue}`,
  ]);
  const planned = [...mesh.virtualServices]
    .map(([host, vs]) => `${host} (${vs.spec.http?.length ?? 0} routes)`)
    .join(', ');
  const unrouted = SERVICES.map((s) => s.name).filter((name) => !mesh.virtualServices.has(name));
  return [
    'Forks (VSConfigs in k8s/forks/):',
    formatColumns(rows),
    `VirtualServices planned with planHost: ${planned}; ${unrouted.join(', ')}: none (default route).`,
  ].join('\n');
}

async function runCases(url: string, mesh: Mesh | undefined): Promise<CaseVerdict[]> {
  const verdicts: CaseVerdict[] = [];
  for (const demoCase of DEMO_CASES) {
    const before = mesh === undefined ? undefined : (await mesh.stats('a')).invalid;
    const result = await requestChain(url, demoCase.headers);
    let reasons: string[] | undefined;
    if (mesh !== undefined && before !== undefined) {
      reasons = reasonsSince(before, (await mesh.stats('a')).invalid);
    }
    verdicts.push(judgeCase(demoCase, result, reasons));
  }
  return verdicts;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { target: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }

  let mesh: Mesh | undefined;
  const interrupt = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: stopping the mesh`);
    const stopping = mesh?.stop() ?? Promise.resolve();
    stopping.finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  try {
    let url = values.target;
    if (url === undefined) {
      console.log('Starting the mesh: A (Express) → B (Fastify) → C (gRPC) → E (node:http) …');
      mesh = await startMesh();
      url = mesh.url;
      console.log(
        `${mesh.instances.length} service processes: ${mesh.instances.map((i) => `${i.name}:${i.port}`).join(' ')}; router in front of each service.\n`,
      );
      console.log(describeForks(mesh));
    } else {
      const vsconfigs = loadVSConfigs();
      console.log(describeForks({ vsconfigs, virtualServices: planVirtualServices(vsconfigs) }));
      console.log(`Sending to ${url} (onInvalid reasons are in A's log there).`);
    }

    const verdicts = await runCases(url, mesh);
    console.log(`\n${verdictTable(verdicts)}\n`);
    const failed = verdicts.filter((verdict) => !verdict.ok);
    if (failed.length === 0) {
      console.log(`All ${verdicts.length} requests: every hop went to the right instance.`);
      const invalid = DEMO_CASES.find((c) => c.invalid !== undefined);
      if (mesh !== undefined && invalid !== undefined) {
        console.log(`(${invalid.label}: A's onInvalid was told "${invalid.invalid}".)`);
      }
      return 0;
    }
    console.log(`${failed.length} of ${verdicts.length} requests went wrong:`);
    for (const verdict of failed) {
      for (const problem of verdict.problems)
        console.log(`  ${verdict.demoCase.label}: ${problem}`);
    }
    return 1;
  } finally {
    await mesh?.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    console.error(`demo failed: ${error.message}`);
    process.exitCode = 1;
  },
);
