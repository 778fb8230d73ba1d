import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPeriod, nextPeriod, periodEnd, periodOf, periodStart } from './periods.ts';

test('periods are YYYY-MM months from 2000 on', () => {
  for (const ok of ['2000-01', '2025-12', '2031-07']) assert.ok(isPeriod(ok), ok);
  for (const bad of ['2025-13', '2025-00', '2025-1', '25-01', '1999-12', '0000-01', '2025-01-01', ' 2025-01', '2025/01', '']) {
    assert.ok(!isPeriod(bad), bad);
  }
});

test('period bounds are UTC month boundaries, across year ends and leap years', () => {
  assert.equal(periodStart('2024-02').toISOString(), '2024-02-01T00:00:00.000Z');
  assert.equal(periodEnd('2024-02').toISOString(), '2024-03-01T00:00:00.000Z');
  assert.equal(nextPeriod('2024-12'), '2025-01');
  assert.equal(periodEnd('2024-12').toISOString(), '2025-01-01T00:00:00.000Z');
  assert.equal(periodOf(new Date('2025-03-31T23:59:59.999Z')), '2025-03');
  assert.equal(periodOf(new Date('2025-04-01T00:00:00.000Z')), '2025-04');
});
