import { createHash } from 'node:crypto';
import pg from 'pg';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import { copyTextLine, type Db, type Queryable } from './index.ts';
import { UnavailableError } from '../unavailable.ts';

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

/**
 * Errors that say the connection, not the statement, failed: the server restarted, failed over, is
 * refusing connections or cannot be reached. The statement may be retried once the database is back.
 */
const CONNECTION_ERROR_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown, crash, starting up), 53300 (too many connections)
const CONNECTION_SQLSTATE = /^(08...|57P0[1-3]|53300)$/;
const CONNECTION_MESSAGES = /Connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|Client was closed/i;

export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_ERROR_CODES.has(code) || CONNECTION_SQLSTATE.test(code))) return true;
  return CONNECTION_MESSAGES.test(err.message);
}

/** A lost connection becomes UnavailableError (503 with Retry-After upstream); statement errors pass unchanged. */
function classify(err: unknown): unknown {
  return isConnectionError(err) ? new UnavailableError('database', 2, 'The database is unavailable right now; retry shortly.', { cause: err }) : err;
}

export interface PostgresOptions {
  max?: number;
  connectionTimeoutMs?: number;
}

/**
 * A PostgreSQL Db. The URL may name several hosts, libpq style (`postgres://u@h1:5432,h2:5433/db`): like
 * libpq's target_session_attrs=read-write, the first host that accepts writes is used, and when it fails
 * (connection lost, or it answers as a standby after a failover) the hosts are probed again, so a promoted
 * replica becomes the primary without a restart. Meanwhile queries fail as UnavailableError (503).
 */
export function createPostgresDb(url: string, opts: PostgresOptions = {}): Db {
  const hosts = hostUrls(url);
  return hosts.length === 1 ? createPoolDb(hosts[0], opts) : createFailoverDb(hosts, opts);
}

/** One connection URL per host of a libpq-style multi-host URL (a single-host URL unchanged). */
export function hostUrls(url: string): string[] {
  const m = /^(postgres(?:ql)?:\/\/)([^@/?#]*@)?([^/?#]*)(.*)$/.exec(url);
  if (!m || !m[3].includes(',')) return [url];
  return m[3].split(',').map((host) => `${m[1]}${m[2] ?? ''}${host}${m[4]}`);
}

/** Errors of a write sent to a standby: the host we took for the primary is not (any more). */
const READ_ONLY_SQLSTATE = '25006';
/** How soon after one probe of the hosts another may start. */
const REPROBE_MS = 500;

function createFailoverDb(hosts: string[], opts: PostgresOptions): Db {
  const dbs = hosts.map((h) => createPoolDb(h, opts));
  let current = 0;
  let probing: Promise<void> | null = null;
  let lastProbe = 0;

  /** Is this host up and not in recovery? A short connection of its own, so a dead host costs one timeout. */
  async function writable(hostUrl: string): Promise<boolean> {
    const client = new pg.Client({ connectionString: hostUrl, connectionTimeoutMillis: Math.min(opts.connectionTimeoutMs ?? 5_000, 2_000) });
    client.on('error', () => {});
    try {
      await client.connect();
      const { rows } = await client.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
      return !rows[0].standby;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  }
  function probe(): Promise<void> {
    if (probing || Date.now() - lastProbe < REPROBE_MS) return probing ?? Promise.resolve();
    lastProbe = Date.now();
    probing = (async () => {
      for (let i = 0; i < hosts.length; i++) {
        if (await writable(hosts[i])) {
          current = i;
          return;
        }
      }
    })().finally(() => {
      probing = null;
      lastProbe = Date.now();
    });
    return probing;
  }
  /** A failure that may mean the primary moved: probe in the background, answer 503 now. */
  function failed(err: unknown): never {
    const code = (err as { code?: unknown }).code;
    if (err instanceof UnavailableError || code === READ_ONLY_SQLSTATE) {
      void probe();
      if (code === READ_ONLY_SQLSTATE) throw new UnavailableError('database', 1, 'The database is failing over; retry shortly.', { cause: err });
    }
    throw err;
  }
  void probe();

  return {
    kind: 'postgres',
    query: <R>(sql: string, params?: unknown[]) => dbs[current].query<R>(sql, params).catch(failed),
    tx: (fn) => dbs[current].tx(fn).catch(failed),
    copyRows: (table, columns, rows) => dbs[current].copyRows(table, columns, rows).catch(failed),
    ping: () => dbs[current].ping().catch(failed),
    async close() {
      await probing;
      await Promise.all(dbs.map((d) => d.close()));
    },
  };
}

function createPoolDb(url: string, opts: PostgresOptions): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 20,
    // Unreachable (a stalled network, a host that is gone): give up on a new connection instead of waiting for ever.
    connectionTimeoutMillis: opts.connectionTimeoutMs ?? 5_000,
    keepAlive: true,
  });
  // The pool listens for errors of idle clients only. A checked-out client whose connection is reset (a
  // restart, a failover) emits 'error' with nobody listening, which would kill the process: every client
  // gets a listener for life, and the query in flight fails on its own (and is classified below).
  pool.on('connect', (client) => client.on('error', () => {}));
  pool.on('error', () => {}); // idle client errors surface on the next query instead of crashing the process

  const wrap = (c: pg.PoolClient): Queryable => ({
    query: async (sql, params) => {
      try {
        const r = await c.query(statement(sql, params) as pg.QueryConfig);
        return { rows: r.rows, rowCount: r.rowCount ?? 0 };
      } catch (err) {
        throw classify(err);
      }
    },
  });
  const connect = async () => {
    try {
      return await pool.connect();
    } catch (err) {
      throw classify(err);
    }
  };

  return {
    kind: 'postgres',
    async query(sql, params) {
      try {
        const r = await pool.query(statement(sql, params) as pg.QueryConfig);
        return { rows: r.rows, rowCount: r.rowCount ?? 0 };
      } catch (err) {
        throw classify(err);
      }
    },
    async tx(fn) {
      const client = await connect();
      let broken: unknown;
      try {
        await client.query('BEGIN').catch((err) => Promise.reject(classify(err)));
        const result = await fn(wrap(client));
        await client.query('COMMIT').catch((err) => Promise.reject(classify(err)));
        return result;
      } catch (err) {
        if (err instanceof UnavailableError) broken = err;
        else await client.query('ROLLBACK').catch((e) => (broken = e));
        throw err;
      } finally {
        // A client whose connection failed is destroyed, never handed to the next caller.
        client.release(broken instanceof Error ? broken : undefined);
      }
    },
    async copyRows(table, columns, rows) {
      const client = await connect();
      let count = 0;
      let broken: Error | undefined;
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
      } catch (err) {
        if (isConnectionError(err)) broken = err as Error;
        throw classify(err);
      } finally {
        client.release(broken);
      }
    },
    async ping() {
      await this.query('SELECT 1');
    },
    async close() {
      await pool.end();
    },
  };
}
