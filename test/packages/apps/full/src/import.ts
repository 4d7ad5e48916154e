// ES module consumers: the export names of every package (compared with require's).
const names = [
  'amqp',
  'auto',
  'cli',
  'context',
  'context/integration',
  'controller',
  'express',
  'fastify',
  'fetch',
  'grpc',
  'http',
  'kafka',
  'nats',
  'otel',
];
const keys: Record<string, string[]> = {};
for (const name of names) {
  const module: Record<string, unknown> = await import(`@kubefork/${name}`);
  keys[name === 'context/integration' ? 'integration' : name] = Object.keys(module)
    .filter((key) => key !== 'default' && key !== 'module.exports')
    .sort();
}
console.log(JSON.stringify({ keys }));

export {};
