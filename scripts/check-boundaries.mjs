// The module boundaries of DESIGN.md, checked: modules import each other only through index.ts, nothing in
// src/modules or src/platform imports seed/ or labs/, platform imports no module, and SQL in a module names
// only the tables that module (or the platform) creates, and other modules' declared read views; modules
// publish events only through their typed catalogue (platform/bus eventRecorder). Prints the counts; exits 1 on any violation.
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
// Read views: what an owner lets other modules read (see each module's index.ts header). Anyone may name
// them; a view called <module>_... must be created by that module.
const viewOwner = new Map();
for (const f of files.filter((f) => f.endsWith('.sql'))) {
  const owner = ownerOf(f);
  for (const m of readFileSync(f, 'utf8').matchAll(/CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+([a-z_][a-z0-9_]*)/gi))
    viewOwner.set(m[1].toLowerCase(), { owner, file: f });
}
const misplacedViews = [...viewOwner].filter(([view, { owner }]) => {
  const prefix = view.split('_')[0];
  return [...new Set([...tableOwner.values()])].includes(prefix) && prefix !== owner;
});
const tableNames = [...tableOwner.keys()].sort((a, b) => b.length - a.length);
const tableRef = new RegExp(
  `\\b(?:FROM|JOIN|INTO|UPDATE|TABLE|EXISTS|ON CONFLICT ON|COPY|TRUNCATE|DELETE FROM|ALTER TABLE|INDEX[^;]*? ON)\\s+(${tableNames.join('|')})\\b`,
  'gi',
);
const sqlFiles = files.filter((f) => f.endsWith('.sql'));

const violations = {
  tables: misplacedViews.map(([view, { file }]) => `${rel(file)} creates view ${view}, named after another module`),
  deep: [],
  seed: [],
  platform: [],
  events: [],
  http: [],
};

/** The text with comments blanked (line numbers kept): prose naming a table is not a reference to it. */
function withoutComments(text, sql) {
  const blank = (m) => m.replace(/[^\n]/g, ' ');
  if (sql) return text.replace(/--[^\n]*/g, blank);
  return text
    .replace(/\/\*[\s\S]*?\*\//g, blank)
    .replace(/^\s*\/\/[^\n]*/gm, blank)
    .replace(/\s\/\/ [^\n'"`]*$/gm, blank);
}

// SQL in .ts files and migrations naming another owner's table (platform tables are everyone's)
for (const f of [...tsFiles, ...sqlFiles]) {
  const owner = ownerOf(f);
  if (!owner || owner === 'platform') continue;
  const text = withoutComments(readFileSync(f, 'utf8'), f.endsWith('.sql'));
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
    if (owner && owner !== null && (tRel[0] === 'seed' || tRel[0] === 'labs')) violations.seed.push(where);
    if (owner === 'platform' && tRel[0] === 'modules') violations.platform.push(where);
  }
  // modules publish through their typed catalogue (eventRecorder), never the untyped recordEvent(s)
  if (owner && owner !== 'platform' && /\bimport\s*\{[^}]*\brecordEvents?\b[^}]*\}\s*from\s*['"][^'"]*platform\/bus/.test(text)) {
    violations.events.push(`${rel(f)} imports the untyped recordEvent(s)`);
  }
}

// ---------------------------------------------------------------- HTTP statuses decided outside the HTTP layer
// Services throw platform/errors.ts's DomainError (a kind and a code); only the HTTP layer picks statuses: route
// files (routes.ts, *-routes.ts), schemas, platform/http, and the Apple-format error handler of /inApps.
// Elsewhere in src/modules and src/platform, any of these counts: AppError (built, extended or imported), an error
// constructed with a status number, an old status helper imported from platform/http/errors, a reply's status set.
if (httpThrows) {
  const HTTP_ADAPTERS = new Set(['src/modules/serverapi/errors.ts']);
  const httpLayer = (f) => /(?:^|[-/])routes?\.ts$|schemas\.ts$/.test(f) || f.includes(`${path.sep}http${path.sep}`) || HTTP_ADAPTERS.has(rel(f));
  const HTTP_HELPERS = new Set(['AppError', 'badRequest', 'unauthorized', 'forbidden', 'notFound', 'conflict', 'unprocessable']);
  const fromHttpErrors = /\bimport\s*\{([^}]*)\}\s*from\s*['"][^'"]*http\/errors(?:\.ts)?['"]/g;
  for (const f of tsFiles) {
    if (!ownerOf(f) || httpLayer(f)) continue;
    const text = readFileSync(f, 'utf8');
    const sites = new Map(); // one per line
    const add = (index, what) => {
      const line = text.slice(0, index).split('\n').length;
      if (!sites.has(line)) sites.set(line, what.replace(/\s+/g, ' ').slice(0, 60));
    };
    // the status helpers (and AppError) taken from platform/http/errors: each call, construction or subclass
    const helpers = [...text.matchAll(fromHttpErrors)]
      .flatMap((m) => m[1].split(','))
      .map((spec) => spec.trim())
      .filter((spec) => spec && !spec.startsWith('type '))
      .map((spec) => spec.split(/\s+as\s+/))
      .filter(([imported]) => HTTP_HELPERS.has(imported))
      .map((names) => names[names.length - 1]);
    if (helpers.length) {
      for (const m of text.matchAll(new RegExp(`(?:\\bnew\\s+|\\bextends\\s+)?\\b(?:${helpers.join('|')})\\b\\s*\\(?`, 'g'))) {
        if (m[0].endsWith('(') || m[0].startsWith('extends')) add(m.index, m[0]);
      }
    }
    // any error built with a status number (AppError, Apple's, a subclass's super call), a reply's status set by hand
    for (const m of text.matchAll(/\bnew\s+\w*Error\(\s*[1-5]\d\d\b|\bsuper\(\s*[1-5]\d\d\b|\b(?:reply|res)\s*\.\s*(?:code|status)\(/g)) add(m.index, m[0]);
    for (const [line, what] of [...sites].sort((x, y) => x[0] - y[0])) violations.http.push(`${rel(f)}:${line} ${what}`);
  }
}

const counts = {
  'cross-module table references': violations.tables.length,
  'deep imports into another module': violations.deep.length,
  'modules or platform importing seed/ or labs/': violations.seed.length,
  'platform importing a module': violations.platform.length,
  'modules publishing events untyped': violations.events.length,
};
if (httpThrows) counts['HTTP statuses thrown outside the HTTP layer'] = violations.http.length;
for (const [k, v] of Object.entries(counts)) console.log(`${String(v).padStart(5)}  ${k}`);
if (list) for (const [k, v] of Object.entries(violations)) for (const line of v) console.log(`  [${k}] ${line}`);
const failed = Object.values(counts).some((n) => n > 0);
if (failed && !list) console.log('(node scripts/check-boundaries.mjs --list names each)');
process.exit(failed ? 1 : 0);
