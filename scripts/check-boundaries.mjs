// The module boundaries of DESIGN.md, checked: modules import each other only through index.ts, nothing in
// src/modules or src/platform imports seed/ or labs/, platform imports no module, and SQL in a module names
// only the tables that module (or the platform) creates. Prints the counts; exits 1 on any violation.
// `--list` prints every violation; `--http-throws` also counts HTTP statuses decided outside the HTTP layer.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const src = path.join(root, 'src');
const list = process.argv.includes('--list');
const httpThrows = process.argv.includes('--http-throws');

const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
const rel = (p) => path.relative(root, p);
const files = walk(src);
const tsFiles = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));

/** modules/<name>/... -> name; platform -> 'platform'; anything else -> null */
function ownerOf(file) {
  const r = path.relative(src, file).split(path.sep);
  if (r[0] === 'modules') return r[1];
  if (r[0] === 'platform') return 'platform';
  return null;
}

// ---------------------------------------------------------------- tables and their owners
const tableOwner = new Map();
for (const f of files.filter((f) => f.endsWith('.sql'))) {
  const owner = ownerOf(f);
  for (const m of readFileSync(f, 'utf8').matchAll(/CREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_][a-z0-9_]*)/gi)) {
    const table = m[1].toLowerCase();
    if (tableOwner.has(table) && tableOwner.get(table) !== owner) console.error(`table ${table} is created by both ${tableOwner.get(table)} and ${owner}`);
    tableOwner.set(table, owner);
  }
}
const tableNames = [...tableOwner.keys()].sort((a, b) => b.length - a.length);
const tableRef = new RegExp(`\\b(?:FROM|JOIN|INTO|UPDATE|TABLE|EXISTS|ON CONFLICT ON|COPY|TRUNCATE|DELETE FROM|ALTER TABLE|INDEX[^;]*? ON)\\s+(${tableNames.join('|')})\\b`, 'gi');
const sqlFiles = files.filter((f) => f.endsWith('.sql'));

const violations = { tables: [], deep: [], seed: [], platform: [], http: [] };

// SQL in .ts files and migrations naming another owner's table (platform tables are everyone's)
for (const f of [...tsFiles, ...sqlFiles]) {
  const owner = ownerOf(f);
  if (!owner || owner === 'platform') continue;
  const text = readFileSync(f, 'utf8');
  for (const m of text.matchAll(tableRef)) {
    const table = m[1].toLowerCase();
    const tOwner = tableOwner.get(table);
    if (tOwner && tOwner !== owner && tOwner !== 'platform') {
      const line = text.slice(0, m.index).split('\n').length;
      violations.tables.push(`${rel(f)}:${line} ${owner} -> ${tOwner}.${table}`);
    }
  }
}

// ---------------------------------------------------------------- imports
const importRe = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
for (const f of files.filter((f) => f.endsWith('.ts'))) {
  const owner = ownerOf(f);
  const text = readFileSync(f, 'utf8');
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith('.')) continue;
    const target = path.resolve(path.dirname(f), spec);
    const tRel = path.relative(src, target).split(path.sep);
    const where = `${rel(f)} imports ${spec}`;
    if (tRel[0] === 'modules' && tRel[1] !== owner && !(tRel.length === 3 && tRel[2] === 'index.ts')) violations.deep.push(where);
    if ((owner && owner !== null) && (tRel[0] === 'seed' || tRel[0] === 'labs')) violations.seed.push(where);
    if (owner === 'platform' && tRel[0] === 'modules') violations.platform.push(where);
  }
}

// ---------------------------------------------------------------- HTTP statuses decided outside the HTTP layer
if (httpThrows) {
  const httpHelpers = /\b(?:new AppError\(\s*\d{3}|badRequest\(|unauthorized\(|forbidden\(|notFound\(|conflict\(|unprocessable\()/g;
  for (const f of tsFiles) {
    const owner = ownerOf(f);
    if (!owner || owner === 'platform' || /routes?\.ts$|schemas\.ts$|http\//.test(f)) continue;
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(httpHelpers)) violations.http.push(`${rel(f)}:${text.slice(0, m.index).split('\n').length} ${m[0]}`);
  }
}

const counts = {
  'cross-module table references': violations.tables.length,
  'deep imports into another module': violations.deep.length,
  'modules or platform importing seed/ or labs/': violations.seed.length,
  'platform importing a module': violations.platform.length,
};
if (httpThrows) counts['HTTP statuses thrown outside the HTTP layer'] = violations.http.length;
for (const [k, v] of Object.entries(counts)) console.log(`${String(v).padStart(5)}  ${k}`);
if (list) for (const [k, v] of Object.entries(violations)) for (const line of v) console.log(`  [${k}] ${line}`);
const failed = Object.values(counts).some((n) => n > 0);
if (failed && !list) console.log('(node scripts/check-boundaries.mjs --list names each)');
process.exit(failed ? 1 : 0);
