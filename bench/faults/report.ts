// Figures per phase from the request records, the pass/fail checks, and the printed table.
import os from 'node:os';
import type { RequestRecord } from './load.ts';
import type { AuditFigures } from './audit.ts';
import type { ExitRecord } from './procs.ts';
import type { PhaseMachine } from './monitor.ts';

export interface PhaseRun {
  name: string;
  what: string;
  /** ms since the suite started. */
  startedAt: number;
  endedAt: number;
  /** When the dependency (or process) was back; recovery is measured from here. */
  faultEnd: number | null;
  /** Ports whose recovery is measured. */
  recoveryPorts: number[];
  events: string[];
  /** Phase-specific facts (SIGTERM drain, exit codes, ...). */
  extra: Record<string, unknown>;
  /** CPU during the phase: the machine, each child, the suite (and its proxies' event loop). */
  machine?: PhaseMachine;
}

export interface PhaseStats {
  name: string;
  requests: number;
  fresh: number;
  replays: number;
  ok2xx: number;
  freshOk: number;
  /** "409 PURCHASE_IN_PROGRESS" -> n */
  client4xx: Record<string, number>;
  s503WithRetryAfter: number;
  s503NoRetryAfter: number;
  s500: number;
  s5xxOther: number;
  connErrors: Record<string, number>;
  timeouts: number;
  unanswered: number;
  successRate: number | null;
  mismatches: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Requests sent per second during the phase (the offered load actually sent). */
  sentPerSecond: number;
  /** port -> ms from the fault's end to the first 201 of a new purchase sent after it (null: none). */
  recoveryMs: Record<string, number | null>;
  /** port -> the last new purchase sent after the fault's end (within the phase) that failed (5xx, connection error, timeout): ms after the end; 0 if none. */
  lastFailureMs: Record<string, number>;
}

const pct = (xs: number[], p: number) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

export function phaseStats(run: PhaseRun, all: RequestRecord[]): PhaseStats {
  const rs = all.filter((r) => r.phase === run.name);
  const st: PhaseStats = {
    name: run.name,
    requests: rs.length,
    fresh: 0,
    replays: 0,
    ok2xx: 0,
    freshOk: 0,
    client4xx: {},
    s503WithRetryAfter: 0,
    s503NoRetryAfter: 0,
    s500: 0,
    s5xxOther: 0,
    connErrors: {},
    timeouts: 0,
    unanswered: 0,
    successRate: null,
    mismatches: 0,
    p50Ms: null,
    p99Ms: null,
    sentPerSecond: Math.round((rs.length / Math.max(0.001, (run.endedAt - run.startedAt) / 1000)) * 10) / 10,
    recoveryMs: {},
    lastFailureMs: {},
  };
  const okLatencies: number[] = [];
  for (const r of rs) {
    if (r.replayOf === null) st.fresh++;
    else st.replays++;
    if (r.mismatch) st.mismatches++;
    if (r.status === null) {
      if (r.netError === 'timeout') st.timeouts++;
      else if (r.netError) st.connErrors[r.netError] = (st.connErrors[r.netError] ?? 0) + 1;
      else st.unanswered++;
      continue;
    }
    if (r.status >= 200 && r.status < 300) {
      st.ok2xx++;
      if (r.replayOf === null) st.freshOk++;
      okLatencies.push(r.latencyMs ?? 0);
    } else if (r.status === 503) {
      if (r.retryAfter) st.s503WithRetryAfter++;
      else st.s503NoRetryAfter++;
    } else if (r.status === 500) st.s500++;
    else if (r.status >= 500) st.s5xxOther++;
    else {
      const k = `${r.status} ${r.code}`;
      st.client4xx[k] = (st.client4xx[k] ?? 0) + 1;
    }
  }
  st.successRate = st.fresh ? st.freshOk / st.fresh : null;
  st.p50Ms = pct(okLatencies, 50);
  st.p99Ms = pct(okLatencies, 99);
  if (run.faultEnd !== null) {
    for (const port of run.recoveryPorts) {
      // any phase: the first new purchase sent to this port after the fault ended that got its 201
      const first = all
        .filter((r) => r.port === port && r.replayOf === null && r.status === 201 && r.sentAt >= run.faultEnd!)
        .map((r) => r.sentAt + (r.latencyMs ?? 0))
        .sort((a, b) => a - b)[0];
      st.recoveryMs[String(port)] = first === undefined ? null : Math.round(first - run.faultEnd);
      const failed = rs
        .filter((r) => r.port === port && r.replayOf === null && r.sentAt >= run.faultEnd! && (r.status === null || r.status >= 500))
        .map((r) => r.sentAt - run.faultEnd!);
      st.lastFailureMs[String(port)] = failed.length ? Math.round(Math.max(...failed)) : 0;
    }
  }
  return st;
}

export interface Check {
  name: string;
  pass: boolean;
  detail: string;
}

export interface CheckInputs {
  phases: PhaseRun[];
  stats: PhaseStats[];
  audit: AuditFigures | null;
  auditError: string | null;
  exits: ExitRecord[];
  recoveryTargetMs: number;
  baselinePhase: string;
  baselineTarget: number;
  paymentsPhase: string;
  paymentsTarget: number;
  sigtermPhase: string;
  settled: { unpublished: number; unprocessed: number } | null;
}

export function checks(x: CheckInputs): Check[] {
  const out: Check[] = [];
  const add = (name: string, pass: boolean, detail: string) => out.push({ name, pass, detail });
  const sum = (f: (s: PhaseStats) => number) => x.stats.reduce((a, s) => a + f(s), 0);

  const unexpected = x.exits.filter((e) => !e.expected);
  add(
    'process exits other than the ones the suite caused',
    unexpected.length === 0,
    unexpected.length ? unexpected.map((e) => `${e.name}@${e.at}s code=${e.code} signal=${e.signal}`).join(', ') : '0',
  );
  add('HTTP 500 answers', sum((s) => s.s500) === 0, String(sum((s) => s.s500)));
  add('replays answered unlike their first 2xx', sum((s) => s.mismatches) === 0, String(sum((s) => s.mismatches)));

  for (const run of x.phases) {
    if (run.faultEnd === null) continue;
    const s = x.stats.find((t) => t.name === run.name)!;
    const entries = Object.entries(s.recoveryMs);
    const bad = entries.filter(([, ms]) => ms === null || ms > x.recoveryTargetMs);
    add(
      `${run.name}: purchases succeed within ${x.recoveryTargetMs / 1000} s of the return`,
      bad.length === 0,
      entries
        .map(([port, ms]) => {
          const last = s.lastFailureMs[port] ?? 0;
          return `:${port} ${ms === null ? 'never' : `${ms} ms`} (${last ? `last failure sent +${(last / 1000).toFixed(1)} s` : 'no failure sent after'})`;
        })
        .join(', '),
    );
  }

  const base = x.stats.find((s) => s.name === x.baselinePhase);
  if (base) {
    add(
      `${x.baselinePhase}: new purchases succeed without any fault (the offered load is carried)`,
      (base.successRate ?? 0) >= x.baselineTarget,
      `${fmtPct(base.successRate)} (${base.freshOk}/${base.fresh}; target ≥ ${fmtPct(x.baselineTarget)}; p99 ${base.p99Ms ?? '-'} ms)`,
    );
  }
  const pay = x.stats.find((s) => s.name === x.paymentsPhase);
  if (pay) {
    add(
      `${x.paymentsPhase}: new purchases succeeding`,
      (pay.successRate ?? 0) >= x.paymentsTarget,
      `${fmtPct(pay.successRate)} (${pay.freshOk}/${pay.fresh}; target ≥ ${fmtPct(x.paymentsTarget)})`,
    );
  }
  const term = x.phases.find((p) => p.name === x.sigtermPhase);
  if (term) {
    const e = term.extra as {
      exitCode?: number | null;
      exitSignal?: string | null;
      inFlight?: number;
      inFlightAnswered?: number;
      inFlight5xx?: number;
      inFlightErrors?: string[];
      drainMs?: number | null;
    };
    const errs = Object.entries((e.inFlightErrors ?? []).reduce<Record<string, number>>((a, k) => ((a[k] = (a[k] ?? 0) + 1), a), {}));
    add(
      `${x.sigtermPhase}: exit code 0 and every in-flight request answered`,
      e.exitCode === 0 && e.inFlight === e.inFlightAnswered && !e.inFlight5xx,
      `exit code ${e.exitCode ?? '-'}${e.exitSignal ? ` (${e.exitSignal})` : ''} after ${e.drainMs ?? '-'} ms, in flight ${e.inFlight ?? '-'}, ` +
        `answered ${e.inFlightAnswered ?? '-'} (5xx ${e.inFlight5xx ?? 0})${errs.length ? `, not answered: ${errs.map(([k, n]) => `${k} ×${n}`).join(', ')}` : ''}`,
    );
  }

  if (!x.audit) {
    add('SQL audit', false, x.auditError ?? 'did not run');
    return out;
  }
  const a = x.audit;
  add('double charges', a.doubleCharges === 0 && a.doubleOwners === 0, `${a.doubleCharges} (double owners ${a.doubleOwners}; ${a.succeededCharges} charges)`);
  add(
    'acknowledged purchases missing',
    a.acknowledgedMissing === 0,
    `${a.acknowledgedMissing} of ${a.acknowledged}${a.acknowledgedMissingSample.length ? ` e.g. ${a.acknowledgedMissingSample.slice(0, 3).join(', ')}` : ''}`,
  );
  const unprocessed = Object.values(a.eventsUnprocessed).reduce((p, n) => p + n, 0);
  add(
    'purchase events lost (no outbox row, unpublished, or not processed by a consumer)',
    a.eventsMissing === 0 && a.eventsUnpublished === 0 && unprocessed === 0 && Object.keys(a.eventsUnprocessed).length > 0,
    `missing ${a.eventsMissing}, unpublished ${a.eventsUnpublished}, unprocessed ${
      Object.entries(a.eventsUnprocessed)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ') || '(no consumer of purchase.completed registered)'
    }`,
  );
  add(
    'ledger balanced',
    a.unbalancedLedgerEntries === 0 && a.paidTransactionsWithoutLedger === 0 && a.ledgerCustomerPaymentsMilli === a.chargedMilli,
    `unbalanced ${a.unbalancedLedgerEntries}, paid without lines ${a.paidTransactionsWithoutLedger}, ledger in ${a.ledgerCustomerPaymentsMilli} = charged ${a.chargedMilli}`,
  );
  add('orders pending past lock + reconciliation interval', a.stuckPending === 0, `${a.stuckPending} (pending now ${a.pending})`);
  add(
    'charges without a completed order',
    a.chargesWithoutOrder === 0 && a.completedWithoutCharge === 0,
    `${a.chargesWithoutOrder} (completed paid orders without a charge ${a.completedWithoutCharge})`,
  );
  return out;
}

export const fmtPct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);

export function formatTable(runs: PhaseRun[], stats: PhaseStats[]): string[] {
  const head = [
    'phase',
    'req/s',
    'req',
    'new',
    'replay',
    '2xx',
    '4xx',
    '503+RA',
    '503',
    '500',
    '5xx',
    'conn',
    't/o',
    'ok new',
    'p50',
    'p99',
    'mism',
    'recovery',
  ];
  const rows = stats.map((s) =>
    [
      s.name,
      s.sentPerSecond,
      s.requests,
      s.fresh,
      s.replays,
      s.ok2xx,
      Object.values(s.client4xx).reduce((a, b) => a + b, 0),
      s.s503WithRetryAfter,
      s.s503NoRetryAfter,
      s.s500,
      s.s5xxOther,
      Object.values(s.connErrors).reduce((a, b) => a + b, 0) + s.unanswered,
      s.timeouts,
      fmtPct(s.successRate),
      s.p50Ms ?? '-',
      s.p99Ms ?? '-',
      s.mismatches,
      Object.keys(s.recoveryMs).length
        ? Object.values(s.recoveryMs)
            .map((ms) => (ms === null ? 'never' : `${ms}ms`))
            .join(' / ')
        : '-',
    ].map(String),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  const details: string[] = [];
  for (const s of stats) {
    const bits = [...Object.entries(s.client4xx).map(([k, n]) => `${k} ×${n}`), ...Object.entries(s.connErrors).map(([k, n]) => `conn ${k} ×${n}`)];
    const run = runs.find((r) => r.name === s.name);
    if (bits.length) details.push(`  ${s.name}: ${bits.join(', ')}`);
    if (run?.events.length) details.push(`  ${s.name} events: ${run.events.join('; ')}`);
  }
  if (details.length) out.push('', 'details (4xx by code, connection errors, what the suite did):', ...details);
  const machine = runs
    .filter((r) => r.machine)
    .map((r) => {
      const m = r.machine!;
      const cores = Object.entries(m.cores)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(', ');
      return (
        `  ${r.name.padEnd(widths[0])}  machine busy ${m.machineBusy === null ? '-' : `${Math.round(m.machineBusy * 100)}%`.padStart(4)}, load ${m.load1m.toFixed(1).padStart(4)}; ` +
        `cores: ${cores}; suite loop lag p99 ${m.suiteLoopLagP99Ms} ms`
      );
    });
  if (machine.length)
    out.push(
      '',
      `CPU per phase (${os.cpus().length} cores; suite = the load generator and its TCP-proxy thread; lag = the load generator's event loop):`,
      ...machine,
    );
  return out;
}
