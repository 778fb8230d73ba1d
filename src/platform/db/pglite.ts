// Embedded adapter: PostgreSQL compiled to WebAssembly, in this process.
// Does NOT provide: sharing with other processes (one process owns the data dir), parallel
// queries (statements run one at a time), or production durability tuning.
import { PGlite } from '@electric-sql/pglite';
import { setFlagsFromString } from 'node:v8';
import { mkdirSync } from 'node:fs';
import { copyTextLine, type Db } from './index.ts';

// Node 24's V8 (13.6) can abort the process when it frees WebAssembly code ("Check failed:
// jit_page_->allocations_.erase(addr) == 1", nodejs/node#64500: intermittent with many PGlite instances,
// fixed in later V8 but not in 24.x yet). Keeping superseded wasm code avoids it, at a small memory cost.
setFlagsFromString('--no-wasm-code-gc');

/** dataDir undefined = in memory (tests). */
export async function createPgliteDb(dataDir?: string): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pg = new PGlite(dataDir);
  await pg.waitReady;
  return {
    kind: 'pglite',
    async query(sql, params) {
      const r = params && params.length ? await pg.query(sql, params as any[]) : await execOrQuery(pg, sql);
      return { rows: r.rows as any[], rowCount: r.affectedRows || r.rows.length };
    },
    tx(fn) {
      return pg.transaction(async (t) =>
        fn({
          async query(sql, params) {
            const r = params && params.length ? await t.query(sql, params as any[]) : await execOrQueryTx(t, sql);
            return { rows: r.rows as any[], rowCount: r.affectedRows || r.rows.length };
          },
        }),
      );
    },
    async copyRows(table, columns, rows) {
      let count = 0;
      const parts: string[] = [];
      for (const row of rows) {
        parts.push(copyTextLine(row));
        count++;
      }
      await pg.query(`COPY ${table} (${columns.join(', ')}) FROM '/dev/blob'`, [], { blob: new Blob(parts) });
      return count;
    },
    async ping() {
      await pg.query('SELECT 1');
    },
    async close() {
      await pg.close();
    },
  };
}

// Parameterless text may hold several statements (migrations): exec runs them all and we return the last result.
async function execOrQuery(pg: PGlite, sql: string) {
  const results = await pg.exec(sql);
  return results[results.length - 1] ?? { rows: [], affectedRows: 0 };
}
async function execOrQueryTx(t: { exec(sql: string): Promise<any[]> }, sql: string) {
  const results = await t.exec(sql);
  return results[results.length - 1] ?? { rows: [], affectedRows: 0 };
}
