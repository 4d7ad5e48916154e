import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { FakeApiServer } from '../packages/controller/test/support/fake-api/server.ts';

const server = await FakeApiServer.start();
const { store } = server;
const vsc = store.type('kubefork.dev', 'v1beta1', 'vsconfigs')!;
const svc = store.type('', 'v1', 'services')!;
for (let h = 0; h < 100; h++) {
  store.create(svc, 'v1', 'ns', { metadata: { name: `s${h}` } }, { manager: 'x' });
  for (let f = 0; f < 10; f++) {
    store.create(svc, 'v1', 'ns', { metadata: { name: `s${h}-d${f}` } }, { manager: 'x' });
    store.create(
      vsc,
      'kubefork.dev/v1beta1',
      'ns',
      {
        metadata: { name: `s${h}-d${f}` },
        spec: { headerValue: `d${f}`, host: `s${h}`, service: `s${h}-d${f}` },
      },
      { manager: 'x' },
    );
  }
}
await writeFile('/tmp/kc', server.kubeConfigYaml());
const child = spawn(
  process.execPath,
  ['../packages/controller/dist/bin.js', 'run', '--metrics-port', '0', '--log-level', 'warn'],
  {
    env: { PATH: process.env.PATH, HOME: '/tmp', KUBECONFIG: '/tmp/kc' },
    stdio: ['ignore', 'ignore', 'pipe'],
  },
);
child.stderr.setEncoding('utf8').on('data', (d: string) => console.log(d.slice(0, 300)));
setTimeout(() => {
  const st: Record<string, number> = {};
  for (const r of server.requests)
    st[`${r.verb} ${r.plural} ${r.status}`] = (st[`${r.verb} ${r.plural} ${r.status}`] ?? 0) + 1;
  console.log(st);
  const w = server.requests.filter((r) => r.verb === 'patch');
  const t0 = w[0]!.at;
  const buckets: number[] = [];
  for (const r of w) {
    const b = Math.floor((r.at - t0) / 250);
    buckets[b] = (buckets[b] ?? 0) + 1;
  }
  console.log('patches per 250ms:', buckets.map((x) => x ?? 0).join(' '));
  child.kill('SIGTERM');
  setTimeout(() => process.exit(0), 500);
}, 7000);
