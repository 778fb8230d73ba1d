// Finds every *.test.ts under src/ and test/ (Node 20's runner takes no globs) and runs them
// with Node's test runner through tsx. Extra arguments are passed on (e.g. a file filter).
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : walk(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  });

const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));
const files = ['src', 'test'].flatMap(walk).filter((f) => !filters.length || filters.some((x) => f.includes(x)));
if (!files.length) {
  console.error('no test files matched');
  process.exit(1);
}
// --no-wasm-code-gc: Node 24's V8 can abort when it frees dead WebAssembly code, and every embedded test
// opens and closes PGlite instances (see src/platform/db/pglite.ts, which sets it too). The runner passes the flag on to each test file.
const r = spawnSync(process.execPath, ['--no-wasm-code-gc', '--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000', ...flags, ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
