// Catalog browse: keyset pagination over every sort and filter, stable while the catalog changes.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { v7 as uuidv7 } from 'uuid';
import { Value } from 'typebox/value';
import { BrowsePage } from '../src/modules/catalog/schemas.ts';
import { kinds } from './support/infra.ts';
import { createTestApp, makeAdmin, makeDeveloper, type TestApp, type TestUser } from './support/app.ts';
import { LIMITS, expectError, ok, publishApp, sender, type Send } from './support/catalog.ts';

interface Item {
  id: string;
  name: string;
  isFree: boolean;
  subcategory: string | null;
  downloads: number;
  rating: { average: number };
  publishedAt: string;
}

const GAMES = 40;
const FINANCE = 5;

for (const kind of kinds()) {
  describe(`catalog browse (${kind})`, () => {
    let t: TestApp;
    let send: Send;
    let dev: TestUser;
    let admin: TestUser;

    /** Every page of a query, following nextCursor; also checks each page's shape. */
    async function walk(query: string, limit: number): Promise<Item[]> {
      const items: Item[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 100; pages++) {
        const page = ok(await send('GET', `/apps?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`));
        assert.deepEqual([...Value.Errors(BrowsePage, page)], []);
        assert.ok(page.items.length <= limit);
        items.push(...page.items);
        cursor = page.nextCursor;
        if (!cursor) return items;
      }
      throw new Error('too many pages');
    }

    before(async () => {
      t = await createTestApp(kind, { config: { limits: LIMITS } });
      send = sender(t.app);
      dev = await makeDeveloper(t.app, 'Bulk Apps');
      admin = await makeAdmin(t.infra, t.app);
      // Published apps written straight into the table (as the seed does), with ties on every sort key
      // and microsecond timestamps, so that tie-breaking and cursor precision are exercised.
      const rows: unknown[][] = [];
      for (let i = 0; i < GAMES + FINANCE; i++) {
        const games = i < GAMES;
        rows.push([
          uuidv7(),
          dev.user.developer!.id,
          `com.bulk.app${i}`,
          `App ${String(i % 13).padStart(2, '0')}`, // names repeat
          games ? 'games' : 'finance',
          games ? (i % 2 ? 'games-puzzle' : 'games-action') : null,
          i % 3 !== 0,
          (i % 5) * 100, // downloads repeat
          (i % 4) + 0.25, // ratings repeat
          `2024-01-01 00:00:${String(i % 10).padStart(2, '0')}.${String(123456 + (i % 7)).padStart(6, '0')}+00`, // timestamps repeat, with µs
        ]);
      }
      for (const r of rows) {
        await t.infra.db.query(
          `INSERT INTO apps (id, developer_id, bundle_id, name, category, subcategory, is_free, download_count, rating_average, rating_count,
                             published_at, status, current_version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 10, $10, 'published', '1.0')`,
          r,
        );
      }
      await t.infra.db.query(`INSERT INTO app_prices (app_id, country, amount_milli, currency) SELECT id, 'US', 1990, 'USD' FROM apps WHERE NOT is_free`);
    });
    after(async () => {
      await t?.close();
    });

    // (newest ties below the millisecond are ordered by PostgreSQL's microseconds, which the API's ISO dates round away)
    const sorted = {
      newest: (a: Item, b: Item) => b.publishedAt.localeCompare(a.publishedAt),
      popular: (a: Item, b: Item) => b.downloads - a.downloads || a.id.localeCompare(b.id),
      rating: (a: Item, b: Item) => b.rating.average - a.rating.average || a.id.localeCompare(b.id),
    };

    for (const sort of ['newest', 'popular', 'rating', 'name'] as const) {
      test(`sort=${sort}: pages of 7 cover the category once each, in the order of one big page`, async () => {
        const all = ok(await send('GET', `/apps?category=games&sort=${sort}&limit=100`)).items as Item[];
        assert.equal(all.length, GAMES);
        assert.equal(new Set(all.map((i) => i.id)).size, GAMES);
        if (sort === 'popular' || sort === 'rating')
          assert.deepEqual(
            all.map((i) => i.id),
            [...all].sort(sorted[sort]).map((i) => i.id),
          );
        if (sort === 'newest') assert.ok(all.every((item, i) => i === 0 || sorted.newest(all[i - 1], item) <= 0));
        const paged = await walk(`category=games&sort=${sort}`, 7);
        assert.deepEqual(
          paged.map((i) => i.id),
          all.map((i) => i.id),
        );
      });
    }

    test('newest keeps microsecond precision across pages (ties on the millisecond)', async () => {
      const paged = await walk('category=games&sort=newest', 3);
      assert.equal(new Set(paged.map((i) => i.id)).size, GAMES);
    });

    test('filters: subcategory, price, no category', async () => {
      const puzzle = await walk('subcategory=games-puzzle&sort=popular', 4);
      assert.equal(puzzle.length, GAMES / 2);
      assert.ok(puzzle.every((i) => i.subcategory === 'games-puzzle'));
      const paid = await walk('category=games&price=paid&sort=rating', 5);
      assert.ok(paid.length > 0 && paid.every((i) => !i.isFree));
      const free = await walk('category=games&price=free&sort=rating', 5);
      assert.equal(paid.length + free.length, GAMES);
      const everything = await walk('sort=name', 9);
      assert.equal(everything.length, GAMES + FINANCE);
      const both = await walk('category=games&subcategory=games-action&sort=name', 6);
      assert.equal(both.length, GAMES / 2);
      const paidItem = ok(await send('GET', '/apps?category=games&price=paid&limit=1')).items[0];
      assert.deepEqual(paidItem.price, { amountMilli: 1990, currency: 'USD' });
      const elsewhere = ok(await send('GET', '/apps?category=games&price=paid&limit=1&country=JP')).items[0];
      assert.equal(elsewhere.price, null, 'no price in that storefront');
    });

    test('pagination is stable while apps are published and changed between pages', async () => {
      const first = ok(await send('GET', '/apps?category=games&sort=newest&limit=10'));
      const created = await publishApp(send, dev.token, admin.token, { name: 'Brand New' });
      // an app already seen on page one moves to the top of "popular" between pages; newest is unaffected
      const rest: Item[] = [];
      let cursor = first.nextCursor;
      while (cursor) {
        const page = ok(await send('GET', `/apps?category=games&sort=newest&limit=10&cursor=${cursor}`));
        rest.push(...page.items);
        cursor = page.nextCursor;
      }
      const ids = [...first.items, ...rest].map((i: Item) => i.id);
      assert.equal(new Set(ids).size, ids.length, 'no app twice');
      assert.equal(ids.length, GAMES, 'every app that existed, and the newer one (which sorts before the cursor) not at all');
      assert.ok(!ids.includes(created.id));
      // a fresh walk (new browse generation) sees it first
      assert.equal(ok(await send('GET', '/apps?category=games&sort=newest&limit=1')).items[0].id, created.id);
    });

    test('bad browse input: 400 with a message, never 500', async () => {
      const cursorOf = async (q: string) => ok(await send('GET', `/apps?${q}&limit=1`)).nextCursor as string;
      expectError(await send('GET', '/apps?category=nope'), 400, 'UNKNOWN_CATEGORY');
      expectError(await send('GET', '/apps?category=games-puzzle'), 400, 'UNKNOWN_CATEGORY');
      expectError(await send('GET', '/apps?subcategory=nope'), 400, 'UNKNOWN_CATEGORY');
      expectError(await send('GET', '/apps?category=finance&subcategory=games-puzzle'), 400, 'SUBCATEGORY_MISMATCH');
      expectError(await send('GET', '/apps?sort=best'), 400, 'VALIDATION_FAILED');
      expectError(await send('GET', '/apps?price=cheap'), 400, 'VALIDATION_FAILED');
      for (const limit of ['0', '101', 'ten', '2.5']) expectError(await send('GET', `/apps?limit=${limit}`), 400, 'VALIDATION_FAILED');
      expectError(await send('GET', '/apps?country=XX'), 400, 'UNKNOWN_COUNTRY');
      expectError(await send('GET', '/apps?country=us'), 400, 'VALIDATION_FAILED');
      expectError(await send('GET', '/apps?catgory=games'), 400, 'VALIDATION_FAILED');
      expectError(await send('GET', '/apps?cursor=not-a-cursor'), 400, 'BAD_CURSOR');
      expectError(await send('GET', `/apps?sort=popular&cursor=${await cursorOf('sort=name')}`), 400, 'BAD_CURSOR');
      const forged = Buffer.from(JSON.stringify(['newest', 'x', uuidv7()])).toString('base64url');
      expectError(await send('GET', `/apps?cursor=${forged}`), 400, 'BAD_CURSOR');
      const huge = Buffer.from(JSON.stringify(['newest', 1e300, uuidv7()])).toString('base64url');
      expectError(await send('GET', `/apps?cursor=${huge}`), 400, 'BAD_CURSOR');
    });
  });
}
