// The alert rules an operator loads (ops/prometheus/orchard-alerts.yml) against what the code exports: every metric a
// rule reads is on GET /metrics, with the labels the rule filters and groups by; every rule says how long (for),
// how urgent (severity) and what it means (summary, description); every alert has a promtool unit test.
// (`scripts/check-alerts.sh` checks the PromQL itself with promtool.)
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml'; // comes with @fastify/swagger
import { kinds } from './support/infra.ts';
import { createTestApp, type TestApp } from './support/app.ts';

const dir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'ops', 'prometheus');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const groups: { name: string; rules: Rule[] }[] = parse(readFileSync(path.join(dir, 'orchard-alerts.yml'), 'utf8')).groups;
const rules = groups.flatMap((g) => g.rules);

/** Labels Prometheus attaches to every scraped series (ours named alike arrive as exported_<name>). */
const TARGET_LABELS = new Set(['job', 'instance']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

interface Use {
  metric: string;
  /** Label names its selector matches on. */
  matchers: string[];
}

/** What one PromQL expression reads: metric selectors with their matchers, and the labels it groups or matches on. */
function readsOf(expr: string): { uses: Use[]; grouping: string[] } {
  const uses: Use[] = [];
  const grouping: string[] = [];
  let rest = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""'); // string literals
  rest = rest.replace(/([A-Za-z_:][\w:]*)\s*\{([^}]*)\}/g, (_, metric: string, body: string) => {
    uses.push({ metric, matchers: [...body.matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]) });
    return ' ';
  });
  rest = rest.replace(/\[[^\]]*\]/g, ' '); // range and subquery windows
  rest = rest.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_, _kw, list: string) => {
    grouping.push(
      ...list
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean),
    );
    return ' ';
  });
  for (const m of rest.matchAll(/(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    if (m[2] || KEYWORDS.has(m[1].toLowerCase())) continue; // a function or an aggregation, a keyword
    uses.push({ metric: m[1], matchers: [] });
  }
  return { uses, grouping };
}

interface Exposition {
  types: Map<string, string>;
  /** Sample name -> the label names seen on its samples. */
  samples: Map<string, Set<string>>;
}

function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) types.set(type[1], type[2]);
    const sample = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? /.exec(line);
    if (!sample) continue;
    let labels = samples.get(sample[1]);
    if (!labels) samples.set(sample[1], (labels = new Set()));
    for (const l of (sample[2] ?? '').matchAll(/([A-Za-z_]\w*)="/g)) labels.add(l[1]);
  }
  return { types, samples };
}

/** Why `metric` is not what a rule can read on this /metrics (null: it is, with samples). */
function missing(metric: string, e: Exposition): string | null {
  const base = /^(.*)_(bucket|sum|count)$/.exec(metric)?.[1];
  const typed = e.types.has(metric) || (base !== undefined && ['histogram', 'summary'].includes(e.types.get(base) ?? ''));
  if (!typed) return 'no # TYPE line';
  if (!e.samples.has(metric)) return 'declared but no sample';
  return null;
}

describe('alert rules (ops/prometheus/orchard-alerts.yml)', () => {
  test('every rule is an alert with for, a severity of page or ticket, a summary and a description', () => {
    assert.ok(rules.length >= 10, `${rules.length} rules`);
    const names = new Set<string>();
    for (const r of rules) {
      assert.ok(r.alert, `a rule without an alert name: ${r.expr}`);
      assert.ok(!names.has(r.alert), `${r.alert} is defined twice`);
      names.add(r.alert);
      assert.match(r.for ?? '', /^\d+[smh]$/, `${r.alert}: for`);
      assert.ok(['page', 'ticket'].includes(r.labels?.severity ?? ''), `${r.alert}: labels.severity is ${r.labels?.severity}`);
      assert.ok(r.annotations?.summary?.trim(), `${r.alert}: annotations.summary`);
      assert.ok(r.annotations?.description?.trim(), `${r.alert}: annotations.description`);
      assert.ok(readsOf(r.expr).uses.length > 0, `${r.alert}: no metric found in ${r.expr}`);
    }
  });

  test('every alert has a promtool unit test (orchard-alerts.test.yml)', () => {
    const unit = parse(readFileSync(path.join(dir, 'orchard-alerts.test.yml'), 'utf8')) as {
      rule_files: string[];
      tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    assert.deepEqual(unit.rule_files, ['orchard-alerts.yml']);
    const fired = new Set(unit.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    assert.deepEqual(
      rules.map((r) => r.alert).filter((a) => !fired.has(a!)),
      [],
      'alerts no unit test sees firing',
    );
  });

  test('the expression reader finds metrics, matchers and grouping labels', () => {
    const r = readsOf(
      'sum by (job, exported_job) (increase(orchard_job_runs_total{outcome="failed", x=~"a|b"}[1h])) > 0.5 * max without (state) (foo_bar) or time() - up',
    );
    assert.deepEqual(r.uses, [
      { metric: 'orchard_job_runs_total', matchers: ['outcome', 'x'] },
      { metric: 'foo_bar', matchers: [] },
      { metric: 'up', matchers: [] },
    ]);
    assert.deepEqual(r.grouping, ['job', 'exported_job', 'state']);
  });
});

for (const kind of kinds()) {
  describe(`alert rules read what /metrics exports (${kind})`, () => {
    let t: TestApp;
    let body: string;
    let exposition: Exposition;
    before(async () => {
      t = await createTestApp(kind);
      // labelled series exist once something happened: a request, a job run; the bus gauges list every durable consumer
      await t.app.inject('/health');
      t.modules.scheduler.start([{ name: 'alerts.probe', everyMs: 3_600_000, exclusive: false, runAtStart: true, run: async () => {} }]);
      const deadline = Date.now() + 10_000;
      for (;;) {
        body = (await t.app.inject('/metrics')).body;
        exposition = parseExposition(body);
        if (exposition.samples.has('orchard_job_last_success_timestamp_seconds') || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    after(async () => {
      await t?.modules.scheduler.stop();
      await t?.close();
    });

    test('every metric a rule reads is exported, with samples', () => {
      const absent = rules.flatMap((r) =>
        readsOf(r.expr).uses.flatMap(({ metric }) => {
          const why = missing(metric, exposition);
          return why ? [`${r.alert}: ${metric} (${why})`] : [];
        }),
      );
      assert.deepEqual(absent, []);
    });

    test('every label a rule matches or groups on is on the metrics it reads', () => {
      const wrong: string[] = [];
      for (const r of rules) {
        const { uses, grouping } = readsOf(r.expr);
        const labelsOf = (metric: string) => exposition.samples.get(metric) ?? new Set<string>();
        const has = (metric: string, label: string) => {
          if (TARGET_LABELS.has(label)) return true;
          const own = /^exported_(.+)$/.exec(label)?.[1]; // our label named like a target label, renamed by Prometheus
          return own ? labelsOf(metric).has(own) : labelsOf(metric).has(label);
        };
        for (const u of uses) for (const l of u.matchers) if (!has(u.metric, l)) wrong.push(`${r.alert}: ${u.metric} has no label ${l}`);
        for (const l of grouping) if (!uses.some((u) => has(u.metric, l))) wrong.push(`${r.alert}: no metric it reads has the label ${l}`);
      }
      assert.deepEqual(wrong, []);
    });

    test('the series the rules single out carry the values they compare', () => {
      // the breaker rule reads state="closed" == 0: each state is a series, closed is 1 while calls go through
      assert.match(body, /^orchard_payment_breaker_state\{state="closed"\} 1$/m);
      assert.match(body, /^orchard_payment_breaker_state\{state="open"\} 0$/m);
      // the job rules read outcome="ok|failed" and compare the last success with the interval
      assert.match(body, /^orchard_job_runs_total\{job="alerts.probe",outcome="ok"\} 1$/m);
      assert.match(body, /^orchard_job_interval_seconds\{job="alerts.probe"\} 3600$/m);
      assert.match(body, /^orchard_search_index_ready 0$/m); // not started in this test
      assert.match(body, /^orchard_bus_consumers_attached\{consumer="[^"]+"\} 1$/m);
    });
  });
}
