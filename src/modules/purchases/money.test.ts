import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chargeLines, splitProceeds } from './money.ts';
import { addPeriod } from './periods.ts';

test('splitProceeds: commission rounds half up, the parts always sum to the price', () => {
  assert.deepEqual(splitProceeds(990, 30), { commissionMilli: 297, proceedsMilli: 693 });
  assert.deepEqual(splitProceeds(1, 30), { commissionMilli: 0, proceedsMilli: 1 });
  assert.deepEqual(splitProceeds(5, 30), { commissionMilli: 2, proceedsMilli: 3 }); // 1.5 -> 2
  assert.deepEqual(splitProceeds(4990, 15), { commissionMilli: 749, proceedsMilli: 4241 }); // 748.5 -> 749
  assert.deepEqual(splitProceeds(0, 30), { commissionMilli: 0, proceedsMilli: 0 });
  for (let p = 0; p < 5000; p += 7) {
    for (const rate of [15, 30]) {
      const s = splitProceeds(p, rate);
      assert.equal(s.commissionMilli + s.proceedsMilli, p);
      assert.ok(Math.abs(s.commissionMilli - (p * rate) / 100) <= 0.5);
    }
  }
  assert.throws(() => splitProceeds(-1, 30), RangeError);
  assert.throws(() => splitProceeds(1.5, 30), RangeError);
});

test('chargeLines balance, and a refund reverses them exactly', () => {
  const sum = (ls: readonly { amountMilli: number }[]) => ls.reduce((a, l) => a + l.amountMilli, 0);
  for (const price of [0, 990, 1999, 123457]) {
    const charge = chargeLines(price, 30);
    const refund = chargeLines(price, 30, -1);
    assert.equal(sum(charge), 0);
    assert.equal(sum(refund), 0);
    charge.forEach((l, i) => assert.equal(l.amountMilli + refund[i].amountMilli, 0));
  }
});

test('addPeriod keeps the day of month and clamps to month ends', () => {
  const d = (s: string) => new Date(s);
  assert.equal(addPeriod(d('2026-01-31T10:00:00Z'), 'P1M').toISOString(), '2026-02-28T10:00:00.000Z');
  assert.equal(addPeriod(d('2028-01-31T10:00:00Z'), 'P1M').toISOString(), '2028-02-29T10:00:00.000Z');
  assert.equal(addPeriod(d('2026-11-15T00:00:00Z'), 'P3M').toISOString(), '2027-02-15T00:00:00.000Z');
  assert.equal(addPeriod(d('2026-12-01T00:00:00Z'), 'P1W').toISOString(), '2026-12-08T00:00:00.000Z');
  assert.equal(addPeriod(d('2028-02-29T00:00:00Z'), 'P1Y').toISOString(), '2029-02-28T00:00:00.000Z');
  assert.equal(addPeriod(d('2026-01-31T00:00:00Z'), 'P1M', 2).toISOString(), '2026-03-31T00:00:00.000Z');
});
