import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import argon2 from 'argon2';
import { seed, DEMO_ACCOUNTS } from '../src/seed/index.ts';
import { COLUMNS, TABLES, emptyRows, user } from '../src/seed/generate.ts';
import { Rng, uuidv7 } from '../src/platform/rng.ts';
import { priceTable, TIER_USD_MILLI } from '../src/seed/prices.ts';
import { VOCABULARY } from '../src/seed/text.ts';
import { createTestInfra, kinds, type TestInfra } from './support/infra.ts';

const APPS = 200;
const USERS = 50;

/** md5 of every row of every seeded table, except the argon2 hash (its salt is random by design). */
async function digest(infra: TestInfra): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of TABLES) {
    const cols = COLUMNS[table].filter((c) => c !== 'password_hash').join(', ');
    const { rows } = await infra.db.query<{ h: string; n: number }>(
      `SELECT md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) AS h, count(*)::int AS n FROM (SELECT ${cols} FROM ${table}) x`,
    );
    out[table] = `${rows[0].n}:${rows[0].h}`;
  }
  return out;
}

const count = async (infra: TestInfra, sql: string, params: unknown[] = []) => Number((await infra.db.query<{ n: number }>(sql, params)).rows[0].n);

describe('seed: generators', () => {
  test('the same (seed, index) gives the same row; another seed gives another', () => {
    const plan = {
      seed: 7,
      baseTime: Date.UTC(2026, 0, 1),
      apps: 0,
      users: 1,
      developers: 0,
      passwordHash: 'h',
      storefronts: [{ country: 'US', currency: 'USD' }],
      prices: [],
      icons: [],
    };
    const a = emptyRows();
    const b = emptyRows();
    const c = emptyRows();
    user(plan, 3, a);
    user(plan, 3, b);
    user({ ...plan, seed: 8 }, 3, c);
    assert.deepEqual(a.users, b.users);
    assert.notDeepEqual(a.users, c.users);
  });

  test('UUIDv7-shaped ids carry the timestamp, version and variant', () => {
    const ms = Date.UTC(2024, 4, 1, 12, 30);
    const id = uuidv7(new Rng(1), ms);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), ms);
  });

  test('prices: USD tiers end in .99 and every currency has a positive amount per tier', () => {
    const storefronts = ['USD', 'EUR', 'JPY', 'KRW', 'INR', 'BRL', 'CHF'].map((currency, i) => ({ country: `C${i}`, currency }));
    const table = priceTable(storefronts);
    assert.equal(table[0][0], 990);
    assert.equal(table[2][0], 2990);
    assert.equal(table[0][2] % 10_000, 0, 'JPY has no minor units: whole tens of yen');
    assert.equal(table[0][3] % 100_000, 0, 'KRW: whole hundreds of won');
    for (const row of table) for (const amount of row) assert.ok(Number.isInteger(amount) && amount > 0);
    assert.equal(table.length, TIER_USD_MILLI.length);
  });

  test('the vocabulary is large and has no duplicates', () => {
    assert.ok(VOCABULARY.length > 5000, `only ${VOCABULARY.length} words`);
    assert.equal(new Set(VOCABULARY).size, VOCABULARY.length);
  });
});

describe('seed: determinism (embedded)', () => {
  test('two runs with the same seed write identical rows', async () => {
    const digests: Record<string, string>[] = [];
    for (let run = 0; run < 2; run++) {
      const infra = await createTestInfra('embedded');
      try {
        await seed({ infra, apps: APPS, users: USERS, rngSeed: 9 });
        digests.push(await digest(infra));
      } finally {
        await infra.close();
      }
    }
    assert.deepEqual(digests[0], digests[1]);
    assert.match(digests[0].apps, new RegExp(`^${APPS}:`));
  });
});

for (const kind of kinds()) {
  describe(`seed: constraints (${kind})`, () => {
    let infra: TestInfra;
    let result: Awaited<ReturnType<typeof seed>>;

    before(async () => {
      infra = await createTestInfra(kind);
      result = await seed({ infra, apps: APPS, users: USERS, onlyIfEmpty: true });
    });
    after(() => infra.close());

    test('reports what it wrote', async () => {
      assert.ok(result);
      assert.equal(result.apps, APPS);
      assert.equal(await count(infra, 'SELECT count(*) AS n FROM apps'), APPS);
      assert.equal(await count(infra, 'SELECT count(*) AS n FROM users'), result.users);
      assert.equal(result.users, DEMO_ACCOUNTS.length + USERS + Math.round(APPS / 8));
    });

    test('demo accounts exist with their roles, the shared password verifies, the developer has apps', async () => {
      for (const a of DEMO_ACCOUNTS) {
        const { rows } = await infra.db.query<{ role: string; password_hash: string }>('SELECT role, password_hash FROM users WHERE email = $1', [a.email]);
        assert.equal(rows[0]?.role, a.role);
        assert.ok(await argon2.verify(rows[0].password_hash, a.password));
      }
      const apps = await count(
        infra,
        `SELECT count(*) AS n FROM apps JOIN developers d ON d.id = apps.developer_id JOIN users u ON u.id = d.user_id WHERE u.email = $1`,
        [DEMO_ACCOUNTS[1].email],
      );
      assert.ok(apps > 0);
      assert.equal(await count(infra, `SELECT count(*) AS n FROM users u JOIN developers d ON d.user_id = u.id WHERE u.role <> 'developer'`), 0);
    });

    test('prices are in the storefront currency; paid apps are priced everywhere, free apps nowhere', async () => {
      for (const table of ['app_prices', 'in_app_prices']) {
        assert.equal(await count(infra, `SELECT count(*) AS n FROM ${table} p JOIN storefronts s USING (country) WHERE p.currency <> s.currency`), 0);
      }
      const storefronts = await count(infra, 'SELECT count(*) AS n FROM storefronts');
      assert.equal(
        await count(
          infra,
          `SELECT count(*) AS n FROM apps a WHERE (SELECT count(*) FROM app_prices p WHERE p.app_id = a.id) <> CASE WHEN a.is_free THEN 0 ELSE $1::int END`,
          [storefronts],
        ),
        0,
      );
      assert.ok((await count(infra, 'SELECT count(*) AS n FROM apps WHERE NOT is_free')) > 0);
      assert.equal(
        await count(infra, `SELECT count(*) AS n FROM in_app_products i WHERE (SELECT count(*) FROM in_app_prices p WHERE p.product_id = i.id) <> $1::int`, [
          storefronts,
        ]),
        0,
      );
      const types = (await infra.db.query<{ type: string }>('SELECT DISTINCT type FROM in_app_products')).rows.map((r) => r.type);
      assert.ok(types.includes('consumable') && types.includes('auto_renewable'), `types: ${types}`);
    });

    test('bundle ids are unique; published apps have a current published version and a publication date', async () => {
      assert.equal(await count(infra, 'SELECT count(DISTINCT bundle_id) AS n FROM apps'), APPS);
      assert.equal(
        await count(
          infra,
          `SELECT count(*) AS n FROM apps a WHERE a.status = 'published' AND (a.published_at IS NULL OR NOT EXISTS (
             SELECT 1 FROM app_versions v WHERE v.app_id = a.id AND v.version = a.current_version AND v.status = 'published'))`,
        ),
        0,
      );
      assert.ok((await count(infra, `SELECT count(*) AS n FROM apps WHERE status = 'published'`)) > APPS * 0.8);
      assert.equal(await count(infra, `SELECT count(*) AS n FROM apps WHERE status = 'draft' AND published_at IS NOT NULL`), 0);
    });

    test('texts fit the catalog API limits (name 50, subtitle 80, description 10,000, 20 keywords of 50)', async () => {
      const { rows } = await infra.db.query<Record<string, number>>(
        `SELECT max(length(name)) AS name, max(length(subtitle)) AS subtitle, max(length(description)) AS description,
                max(cardinality(keywords)) AS keywords, (SELECT max(length(k)) FROM apps, unnest(keywords) k) AS keyword FROM apps`,
      );
      const m = rows[0];
      assert.ok(m.name <= 50 && m.subtitle <= 80 && m.description <= 10_000 && m.keywords <= 20 && m.keyword <= 50, JSON.stringify(m));
    });

    test('every app has an icon the blob store can serve', async () => {
      assert.equal(await count(infra, `SELECT count(*) AS n FROM app_media WHERE kind = 'icon'`), APPS);
      const { rows } = await infra.db.query<{ sha256: string; size_bytes: number }>('SELECT DISTINCT sha256, size_bytes FROM app_media');
      for (const { sha256, size_bytes } of rows) assert.equal((await infra.blobs.stat(sha256))?.size, size_bytes);
    });

    test('nothing is written to the outbox', async () => {
      assert.equal(await count(infra, 'SELECT count(*) AS n FROM outbox'), 0);
    });

    test('onlyIfEmpty returns null the second time; a plain second seed refuses', async () => {
      assert.equal(await seed({ infra, apps: APPS, users: USERS, onlyIfEmpty: true }), null);
      await assert.rejects(seed({ infra, apps: 10, users: 1 }), /already seeded/);
      assert.equal(await count(infra, 'SELECT count(*) AS n FROM apps'), APPS);
    });
  });
}
