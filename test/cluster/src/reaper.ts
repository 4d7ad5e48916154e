// The reaper: a small process that outlives nothing. The harness starts one per cluster and
// writes the process-group id of each control-plane process to its stdin, one per line. When
// that pipe closes, because the cluster stopped or because the test process died (even by
// SIGKILL, which no exit handler sees), it kills every group it was told about. This is how a
// killed test run leaves no etcd or kube-apiserver behind.

const groups = new Set<number>();
let buffered = '';

function killAll(signal: NodeJS.Signals): void {
  for (const group of groups) {
    try {
      process.kill(-group, signal);
    } catch {
      // Already gone.
    }
  }
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffered += chunk;
  const lines = buffered.split('\n');
  buffered = lines.pop() ?? '';
  for (const line of lines) {
    const [verb, value] = line.trim().split(' ');
    const group = Number(value);
    if (!Number.isInteger(group) || group <= 0) continue;
    if (verb === 'add') groups.add(group);
    else if (verb === 'forget') groups.delete(group);
  }
});
process.stdin.on('end', () => {
  killAll('SIGTERM');
  if (groups.size === 0) process.exit(0);
  // Stay until the stragglers are sure to be gone (this timer keeps the reaper alive).
  setTimeout(() => {
    killAll('SIGKILL');
    process.exit(0);
  }, 3_000);
});
// The parent may ignore us; never let a signal meant for it end us before the cleanup.
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
