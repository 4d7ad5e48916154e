// Sums vitest JSON reports (one per Node version) into the matrix line CI ends with.
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
const rows = [];
for (const file of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    rows.push(`${file}: unreadable report`);
    failed += 1;
    continue;
  }
  const label = file.replace(/^.*\/|\.json$/g, '');
  const p = report.numPassedTests ?? 0;
  // A file that failed to load has no failed tests but a failed suite: count it once.
  const f = report.numFailedTests || report.numFailedTestSuites || 0;
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  rows.push(`${label}: ${p} passed, ${f} failed${skipped ? `, ${skipped} skipped` : ''}`);
  passed += p;
  failed += f;
  if (p === 0) failed += 1; // a Node that ran no test is a failure, not a pass
}
for (const row of rows) console.log(row);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
