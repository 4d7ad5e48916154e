// `@kubefork/controller/plan` must stay light: whoever plans, renders or simulates routes (the
// `kubefork` CLI, a CI check, an admission webhook) should not load client-node, prom-client and
// OpenTelemetry, which take over a second to load (bench/controller-import.bench.ts). The graph is
// walked over the built files (`pnpm build` first), lazily loaded code included.
import { execFileSync } from 'node:child_process';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importGraph } from './support/import-graph.js';

const here = fileURLToPath(import.meta.url);
const dist = join(dirname(here), '..', 'dist') + sep;

/**
 * The only packages /plan may load: the SDK kernel (fork-id rules and option errors; it has no
 * dependencies, packages/context/test/kernel.test.ts), the route simulator's regex engine and YAML.
 */
const ALLOWED = ['@kubefork/context', 're2js', 'yaml'];

describe('@kubefork/controller/plan', () => {
  const graph = importGraph('@kubefork/controller/plan', here);

  it('reaches no package but the SDK kernel, re2js and yaml', () => {
    expect([...graph.packages].sort()).toEqual(ALLOWED);
    expect(graph.unresolved).toEqual([]);
  });

  it('reaches none of the running controller (runtime/) and no CLI', () => {
    const own = [...graph.files].filter((file) => file.startsWith(dist));
    expect(own).toContain(`${dist}plan-host.js`);
    expect(own).toContain(`${dist}render.js`);
    expect(own.filter((file) => /runtime|cli|command|bin/.test(file.slice(dist.length)))).toEqual(
      [],
    );
  });

  it('sees the yaml that is loaded only on first use (the walker follows require)', () => {
    const yamlFiles = [...graph.files].filter((file) =>
      file.includes(`${sep}yaml${sep}dist${sep}`),
    );
    expect(yamlFiles.length).toBeGreaterThan(10);
  });

  it('exports the planner, the route simulator and render, which work without the main entry', () => {
    // A fresh process: what the import loads is exactly what a user of /plan gets.
    const script = `
      const plan = await import('@kubefork/controller/plan');
      const names = ['planHost', 'planFork', 'matchRoute', 'render', 'parseDuration', 'stringifyYaml'];
      const missing = names.filter((name) => typeof plan[name] !== 'function');
      const { yaml } = plan.render([{ name: 'a.yaml', text: [
        'apiVersion: kubefork.dev/v1beta1', 'kind: VSConfig',
        'metadata: { name: cart-alice, namespace: shop }',
        'spec: { headerValue: alice, host: cart, service: cart-alice }'].join('\\n') }]);
      console.log(JSON.stringify({ missing, routes: yaml.match(/name: kubefork-[a-z-]+/g),
        constant: plan.VSCONFIG_KIND, ttl: plan.parseDuration('1h30m') }));`;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: join(dirname(here), '..'),
      encoding: 'utf8',
    });
    expect(JSON.parse(output)).toEqual({
      missing: [],
      routes: ['name: kubefork-alice', 'name: kubefork-alice-baggage'],
      constant: 'VSConfig',
      ttl: 5_400_000,
    });
  });
});

describe('the main entry @kubefork/controller', () => {
  it('does reach client-node, prom-client and OpenTelemetry (the walker can fail)', () => {
    const { packages } = importGraph('@kubefork/controller', here);
    expect([...packages]).toEqual(
      expect.arrayContaining(['@kubernetes/client-node', 'prom-client', '@opentelemetry/api']),
    );
    expect([...packages].filter((name) => !ALLOWED.includes(name)).length).toBeGreaterThan(3);
  });
});
