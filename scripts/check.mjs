// The checks before the tests: lint (Biome), format (Biome, check only), typecheck (tsc) and module boundaries.
// `node scripts/check.mjs` runs them all; `node scripts/check.mjs lint typecheck` runs only those named.
// Every step runs even when an earlier one fails; the exit status is 1 if any failed.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const steps = {
  lint: [bin('biome'), ['lint', '.']],
  format: [bin('biome'), ['format', '.']],
  typecheck: [bin('tsc'), ['-p', '.']],
  boundaries: [process.execPath, [path.join(root, 'scripts/check-boundaries.mjs'), '--http-throws']],
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((s) => !(s in steps));
if (unknown.length) {
  console.error(`unknown check: ${unknown.join(', ')} (known: ${Object.keys(steps).join(', ')})`);
  process.exit(2);
}
const failed = [];
for (const name of wanted.length ? wanted : Object.keys(steps)) {
  const [cmd, args] = steps[name];
  console.log(`\n== ${name}`);
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  const ok = r.status === 0;
  if (!ok) failed.push(name);
  console.log(`== ${name}: ${ok ? 'ok' : r.error ? r.error.message : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
console.log(failed.length ? `\nfailed: ${failed.join(', ')}` : '\nall checks passed');
process.exit(failed.length ? 1 : 0);
