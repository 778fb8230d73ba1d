// Open-loop purchase load: requests leave on a clock (rate per second), whatever the answers do, spread
// over the target ports in turn. A share of them are replays of an earlier request (same user, key and
// body: a client that lost the answer), which must get the same answer as that key's first 2xx.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Buyer {
  token: string;
}
export interface Item {
  appId: string;
  /** null: a free app (no price in the body). */
  amountMilli: number | null;
}

export interface RequestRecord {
  i: number;
  phase: string;
  port: number;
  /** Index of the request this one replays. */
  replayOf: number | null;
  key: string;
  buyer: number;
  appId: string;
  paid: boolean;
  /** ms since the suite started. */
  sentAt: number;
  latencyMs: number | null;
  status: number | null;
  /** 201: the transaction id; errors: the body's error code. */
  transactionId: string | null;
  code: string | null;
  retryAfter: string | null;
  /** Connection error or client timeout: 'timeout' | 'refused' | 'reset' | other cause code. */
  netError: string | null;
  /** Replays: a 2xx that differs from the key's first 2xx, or a 4xx after the key had a 2xx. */
  mismatch: string | null;
}

interface KeyState {
  first: number;
  body: string;
  /** Canonical first 2xx (status and body), and when it arrived (ms since start). */
  ok: { canonical: string; at: number; transactionId: string | null } | null;
}

export interface LoadOptions {
  rate: number;
  replayShare: number;
  timeoutMs: number;
  t0: number;
  buyers: Buyer[];
  items: Item[];
}

export class PurchaseLoad {
  readonly records: RequestRecord[] = [];
  phase = 'setup';
  targets: number[] = [];
  /** Bodies and keys by key, for replays and the comparison of their answers. */
  private readonly keys = new Map<string, KeyState>();
  private readonly fresh: number[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private sent = 0;
  private startedAt = 0;
  private pairs = 0;
  private turn = 0;
  exhausted = false;

  constructor(private readonly o: LoadOptions) {}

  now(): number {
    return Date.now() - this.o.t0;
  }

  start(): void {
    this.startedAt = Date.now();
    this.sent = 0;
    this.timer = setInterval(() => this.tick(), 5);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Waits for the requests in flight (each has its client timeout). */
  async drain(maxMs: number): Promise<void> {
    const deadline = Date.now() + maxMs;
    while (this.inflight.size && Date.now() < deadline) await Promise.race([Promise.all(this.inflight), sleep(100)]);
  }

  /** Requests sent to a port and not answered yet. */
  inFlightTo(port: number): RequestRecord[] {
    return this.records.filter((r) => r.port === port && r.status === null && r.netError === null);
  }

  private tick() {
    const due = Math.floor(((Date.now() - this.startedAt) / 1000) * this.o.rate);
    // open loop: what a slow tick owes is sent now; after a very long stall (> 2 s), only 2 s' worth
    if (due - this.sent > this.o.rate * 2) this.sent = due - this.o.rate * 2;
    while (this.sent < due) {
      this.sent++;
      if (!this.targets.length) continue;
      const port = this.targets[this.turn++ % this.targets.length];
      this.send(port);
    }
  }

  private send(port: number) {
    const now = this.now();
    let replayOf: number | null = null;
    let key: string;
    let buyer: number;
    let item: Item;
    if (this.fresh.length > 50 && Math.random() < this.o.replayShare) {
      // an earlier request, sent at least 200 ms ago, from the last 2,000 new ones
      const window = this.fresh.slice(-2000).filter((i) => now - this.records[i].sentAt >= 200);
      if (window.length) replayOf = window[Math.floor(Math.random() * window.length)];
    }
    if (replayOf !== null) {
      const orig = this.records[replayOf];
      key = orig.key;
      buyer = orig.buyer;
      item = { appId: orig.appId, amountMilli: null };
    } else {
      const pair = this.nextPair();
      if (!pair) return;
      [buyer, item] = pair;
      key = randomUUID();
      const body = JSON.stringify(
        item.amountMilli === null ? { appId: item.appId } : { appId: item.appId, price: { amountMilli: item.amountMilli, currency: 'USD' } },
      );
      this.keys.set(key, { first: this.records.length, body, ok: null });
    }
    const state = this.keys.get(key)!;
    const rec: RequestRecord = {
      i: this.records.length,
      phase: this.phase,
      port,
      replayOf,
      key,
      buyer,
      appId: item.appId,
      paid: replayOf !== null ? this.records[replayOf].paid : item.amountMilli !== null,
      sentAt: now,
      latencyMs: null,
      status: null,
      transactionId: null,
      code: null,
      retryAfter: null,
      netError: null,
      mismatch: null,
    };
    this.records.push(rec);
    if (replayOf === null) this.fresh.push(rec.i);
    const p = this.exchange(rec, state).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  /** (buyer, item) pairs never repeat: each new request is a first purchase of that app by that user. */
  private nextPair(): [number, Item] | null {
    const { buyers, items } = this.o;
    const k = this.pairs++;
    if (k >= buyers.length * items.length) {
      this.exhausted = true;
      return null;
    }
    // consecutive requests go to different buyers (per-user rate limits), and each buyer walks the items
    const b = k % buyers.length;
    const round = Math.floor(k / buyers.length);
    return [b, items[(round + b * 7) % items.length]];
  }

  private async exchange(rec: RequestRecord, state: KeyState): Promise<void> {
    const started = performance.now();
    try {
      const res = await fetch(`http://127.0.0.1:${rec.port}/api/v1/purchases`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.o.buyers[rec.buyer].token}`,
          'idempotency-key': rec.key,
          'content-type': 'application/json',
        },
        body: state.body,
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
      const text = await res.text();
      rec.latencyMs = Math.round(performance.now() - started);
      rec.status = res.status;
      rec.retryAfter = res.headers.get('retry-after');
      let body: any = null;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON (a proxy or a dying server): keep the status
      }
      if (res.status === 201) rec.transactionId = body?.purchase?.transactionId ?? null;
      else rec.code = body?.error?.code ?? (body ? 'NO_CODE' : 'NOT_JSON');
      this.compare(rec, state, res.status, body);
    } catch (err) {
      rec.latencyMs = Math.round(performance.now() - started);
      rec.netError = netErrorOf(err);
    }
  }

  /** Stripe's semantics: once a key has a 2xx, every later answer to it is that 2xx. */
  private compare(rec: RequestRecord, state: KeyState, status: number, body: unknown) {
    const doneAt = rec.sentAt + (rec.latencyMs ?? 0);
    if (status >= 200 && status < 300) {
      const canonical = `${status} ${canonicalJson(body)}`;
      if (!state.ok) state.ok = { canonical, at: doneAt, transactionId: rec.transactionId };
      else if (state.ok.canonical !== canonical) {
        rec.mismatch =
          rec.transactionId !== state.ok.transactionId
            ? `another transaction (${rec.transactionId} vs ${state.ok.transactionId})`
            : 'same transaction, different body';
      }
      return;
    }
    // a 4xx to a key whose 2xx had already been delivered before this request left
    if (status >= 400 && status < 500 && state.ok && state.ok.at < rec.sentAt) rec.mismatch = `${status} ${rec.code} after a 2xx`;
  }
}

function netErrorOf(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: string; name?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timeout';
  const code = e?.cause?.code ?? e?.cause?.name ?? e?.name ?? 'error';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return 'reset';
  return String(code);
}

/** JSON with object keys sorted (jsonb does not keep key order). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
