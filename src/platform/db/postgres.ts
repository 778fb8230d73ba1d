import { createHash } from 'node:crypto';
import pg from 'pg';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import { copyTextLine, type Db, type Queryable } from './index.ts';

// int8 (count(*), bigint money sums) as JS numbers: every value we store fits in 2^53, and PGlite does the same.
pg.types.setTypeParser(20, (v) => Number(v));

// Parameterised statements are prepared once per connection (named by a hash of their text), so
// PostgreSQL plans them once instead of on every call: planning cost more than executing our hot reads.
const statementNames = new Map<string, string>();
const MAX_PREPARED = 2_000; // a bound in case some caller builds SQL text per request
function statement(sql: string, params?: unknown[]): pg.QueryConfig | string {
  if (!params || params.length === 0) return sql; // may hold several statements (migrations): simple protocol
  let name = statementNames.get(sql);
  if (!name) {
    if (statementNames.size >= MAX_PREPARED) return { text: sql, values: params as any[] };
    name = 's' + createHash('sha1').update(sql).digest('base64url').slice(0, 20);
    statementNames.set(sql, name);
  }
  return { name, text: sql, values: params as any[] };
}

export function createPostgresDb(url: string, opts: { max?: number } = {}): Db {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 20 });
  pool.on('error', () => {}); // idle client errors surface on the next query instead of crashing the process

  const wrap = (c: pg.PoolClient): Queryable => ({
    query: async (sql, params) => {
      const r = await c.query(statement(sql, params) as pg.QueryConfig);
      return { rows: r.rows, rowCount: r.rowCount ?? 0 };
    },
  });

  return {
    kind: 'postgres',
    async query(sql, params) {
      const r = await pool.query(statement(sql, params) as pg.QueryConfig);
      return { rows: r.rows, rowCount: r.rowCount ?? 0 };
    },
    async tx(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    async copyRows(table, columns, rows) {
      const client = await pool.connect();
      let count = 0;
      try {
        const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
        // ~64 KiB chunks: one CopyData message and socket write per row costs more than the row itself.
        const chunks = Readable.from(
          (function* () {
            let chunk = '';
            for (const row of rows) {
              count++;
              chunk += copyTextLine(row);
              if (chunk.length >= 65_536) {
                yield chunk;
                chunk = '';
              }
            }
            if (chunk) yield chunk;
          })(),
        );
        await pipeline(chunks, stream);
        return count;
      } finally {
        client.release();
      }
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await pool.end();
    },
  };
}
