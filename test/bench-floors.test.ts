// `npm run bench -- --check` (issue 21): each hot path's share of hello-world against the committed floors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { checkFloors, formatVerdicts, readFloors, withOverrides } from '../bench/floors.ts';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

test('the committed floors are percentages of hello for known scenarios', async () => {
  const floors = readFloors(path.join(ROOT, 'bench', 'floors.json'));
  const { SCENARIOS } = await import('../bench/scenarios.ts');
  for (const [name, pct] of Object.entries(floors)) {
    assert.ok(
      SCENARIOS.some((s) => s.name === name),
      `${name} is a scenario`,
    );
    assert.ok(pct > 0 && pct <= 100);
  }
});

test('a share below its floor fails, a scenario not run fails, the worst of repeated runs counts', () => {
  const floors = { 'app-by-id': 13, charts: 50, purchase: 3 };
  const verdicts = checkFloors(
    [
      { scenario: 'hello', pctOfHello: 100 },
      { scenario: 'app-by-id', pctOfHello: 26 },
      { scenario: 'app-by-id', pctOfHello: 12 },
      { scenario: 'charts', pctOfHello: 97 },
    ],
    floors,
  );
  assert.deepEqual(
    verdicts.map((v) => [v.scenario, v.share, v.pass]),
    [
      ['app-by-id', 12, false],
      ['charts', 97, true],
      ['purchase', null, false],
    ],
  );
  assert.match(formatVerdicts(verdicts), /FAIL {2}app-by-id +12% of hello {2}\(floor 13%\)/);
  assert.match(formatVerdicts(verdicts), /FAIL {2}purchase +not run/);
});

test('--floor overrides one floor; a bad override is refused', () => {
  assert.deepEqual(withOverrides({ charts: 50 }, ['charts=97', 'app-by-id=60']), { charts: 97, 'app-by-id': 60 });
  assert.throws(() => withOverrides({}, ['charts']), /--floor must be/);
  assert.throws(() => withOverrides({}, ['charts=0']), /--floor must be/);
  assert.throws(() => withOverrides({}, ['charts=150']), /--floor must be/);
});
