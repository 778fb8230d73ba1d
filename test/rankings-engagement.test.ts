// Engagement: SDK keys (create, list without secrets, revoke, owner only, at most 5 active), the SDK's ingestion
// endpoint (key auth, replays counted as duplicates, every kind of bad batch refused with a 4xx and nothing
// stored, the per-key rate limit, sessions without an install token of a real download refused and counted while
// the rest of the batch is stored), and the aggregation into app_daily_stats and app_engagement on a hand-made
// data set with a fixed clock.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createGuards } from '../src/platform/http/auth.ts';
import {
  createEngagement,
  hashedId,
  MAX_INSTALL_DAY_SECONDS,
  MAX_INSTALL_DAY_SESSIONS,
  REFUSAL_REASONS,
  type Engagement,
  type SdkKeyRef,
  type SessionInput,
} from '../src/modules/rankings/engagement.ts';
import { createTestApp, makeAdmin, makeDeveloper, registerUser, type TestApp, type TestUser } from './support/app.ts';
import { LIMITS, createDraft, expectError, ok, publishApp, sender, type Send } from './support/catalog.ts';
import { kinds } from './support/infra.ts';
import { installTokens } from './support/installs.ts';

const INGEST = '/api/v1/sdk/engagement';
const MINUTE = 60_000;
const DAY = 86_400_000;

let serial = 0;
/** The install token sessions carry unless given: one real download of the suite's main app. */
let mainInstall = '';
/** A session that starts `agoMs` before now (default a minute), with unique ids unless given. */
const session = (over: Partial<SessionInput> = {}, agoMs = MINUTE): SessionInput => {
  serial++;
  return {
    sessionId: `sess-${Date.now().toString(36)}-${serial}`,
    installId: `inst-${Date.now().toString(36)}-${serial}`,
    installToken: mainInstall,
    country: 'US',
    startedAt: new Date(Date.now() - agoMs).toISOString(),
    durationSeconds: 120,
    ...over,
  };
};

for (const kind of kinds()) {
  describe(`engagement (${kind})`, () => {
    let t: TestApp;
    let send: Send;
    let engagement: Engagement;
    let dev: TestUser;
    let otherDev: TestUser;
    let plain: TestUser;
    let admin: TestUser;
    let appId: string;
    let key: string;

    const db = () => t.infra.db;
    const keysUrl = (id: string) => `/developer/apps/${id}/sdk-keys`;
    const createKey = async (id = appId, token = dev.token) =>
      ok(await send('POST', keysUrl(id), { token }), 201) as { id: string; key: string; createdAt: string };
    const ingest = (body: unknown, sdkKey: string | null = key, url = INGEST) =>
      t.app.inject({
        method: 'POST',
        url,
        headers: { ...(sdkKey === null ? {} : { authorization: `Bearer ${sdkKey}` }), 'content-type': 'application/json' },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      });
    /** Install tokens of n real downloads of the app (a new owner downloads it n times). */
    const installs = (id: string, n = 1) => installTokens(t.app, db(), send, id, n);
    /** The install id a token attests (what the install key is the hash of). */
    const installIdOf = async (token: string) => {
      const check = await t.modules.library.installTokens.verify(token);
      assert.ok(check.ok);
      return check.installId;
    };
    const refusedCount = async (reason: string) =>
      (await t.infra.metrics.counter('orchard_engagement_sessions_refused_total', '', ['reason']).get()).values.find((v) => v.labels.reason === reason)
        ?.value ?? 0;
    const storedSessions = async (id = appId) =>
      Number((await db().query<{ n: number }>('SELECT count(*)::int AS n FROM engagement_sessions WHERE app_id = $1', [id])).rows[0].n);

    before(async () => {
      t = await createTestApp(kind, { config: { limits: LIMITS } });
      const deps = { db: t.infra.db, cache: t.infra.cache, logger: t.infra.logger, metrics: t.infra.metrics, installTokens: t.modules.library.installTokens };
      engagement = createEngagement(deps);
      const guards = createGuards(t.modules.identity.authenticator);
      // a second mount with a tiny per-key budget, for the 429 path
      const strict = createEngagement({ ...deps, config: { ingestLimit: { max: 2 } } });
      await t.app.register(strict.routes, { prefix: '/rate-limited/api/v1', guards });

      send = sender(t.app);
      dev = await makeDeveloper(t.app, 'Engaged Labs');
      otherDev = await makeDeveloper(t.app, 'Rival Labs');
      plain = await registerUser(t.app, { displayName: 'Plain User' });
      admin = await makeAdmin(t.infra, t.app);
      appId = (await publishApp(send, dev.token, admin.token, { name: 'Habit Tracker' })).id;
      key = (await createKey()).key;
      [mainInstall] = await installs(appId);
    });
    after(async () => {
      await t?.close();
    });

    // ---------------------------------------------------------------- keys

    test('a developer creates, lists and revokes keys of their app; the secret is shown once and stored hashed', async () => {
      const id = (await publishApp(send, dev.token, admin.token, { name: 'Key Ring' })).id;
      const made = await createKey(id);
      assert.match(made.key, /^osk_[A-Za-z0-9_-]{43}$/);
      assert.ok(!Number.isNaN(Date.parse(made.createdAt)));

      const listed = await send('GET', keysUrl(id), { token: dev.token });
      const { items } = ok(listed);
      assert.deepEqual(items, [{ id: made.id, createdAt: made.createdAt, lastUsedAt: null, revokedAt: null }]);
      assert.ok(!listed.body.includes(made.key), 'the list never shows a secret');
      assert.ok(!listed.body.includes(made.key.slice(4)), 'nor part of it');

      const stored = await db().query<{ hash: string }>(`SELECT encode(key_hash, 'hex') AS hash FROM sdk_keys WHERE id = $1`, [made.id]);
      assert.equal(stored.rows[0].hash.length, 64);
      assert.ok(!stored.rows[0].hash.includes(made.key));

      // the key works, and the list shows it was used
      const [ringInstall] = await installs(id);
      assert.equal(ok(await ingest({ sessions: [session({ installToken: ringInstall })] }, made.key), 202).accepted, 1);
      const used = ok(await send('GET', keysUrl(id), { token: dev.token })).items[0];
      assert.ok(used.lastUsedAt && Date.parse(used.lastUsedAt) >= Date.parse(made.createdAt));

      const res = await send('DELETE', `${keysUrl(id)}/${made.id}`, { token: dev.token });
      assert.equal(res.statusCode, 204, res.body);
      assert.equal(res.body, '');
      const revoked = ok(await send('GET', keysUrl(id), { token: dev.token })).items[0];
      assert.equal(revoked.id, made.id);
      assert.ok(revoked.revokedAt);
      assert.equal((await send('DELETE', `${keysUrl(id)}/${made.id}`, { token: dev.token })).statusCode, 204); // again: nothing changes
      assert.equal(ok(await send('GET', keysUrl(id), { token: dev.token })).items[0].revokedAt, revoked.revokedAt);

      // revoked keys stop working at once
      expectError(await ingest({ sessions: [session({ installToken: ringInstall })] }, made.key), 401, 'INVALID_SDK_KEY');
    });

    test("another developer's app, an unknown app or key is 404; a plain user 403; no session 401", async () => {
      const mine = await createKey();
      for (const [method, url] of [
        ['POST', keysUrl(appId)],
        ['GET', keysUrl(appId)],
        ['DELETE', `${keysUrl(appId)}/${mine.id}`],
      ] as const) {
        expectError(await send(method, url, { token: otherDev.token }), 404, 'NOT_FOUND');
        expectError(await send(method, url, { token: plain.token }), 403, 'FORBIDDEN');
        expectError(await send(method, url), 401, 'UNAUTHENTICATED');
      }
      expectError(await send('POST', keysUrl(randomUUID()), { token: dev.token }), 404, 'NOT_FOUND');
      expectError(await send('GET', keysUrl(randomUUID()), { token: dev.token }), 404, 'NOT_FOUND');
      expectError(await send('DELETE', `${keysUrl(appId)}/${randomUUID()}`, { token: dev.token }), 404, 'NOT_FOUND');
      // an admin who is not the app's developer does not manage its keys either
      expectError(await send('GET', keysUrl(appId), { token: admin.token }), 404, 'NOT_FOUND');
      // a key of one app cannot be revoked through another app of the same developer
      const other = (await createDraft(send, dev.token, { name: 'Second App' })).id;
      expectError(await send('DELETE', `${keysUrl(other)}/${mine.id}`, { token: dev.token }), 404, 'NOT_FOUND');
      expectError(await send('GET', `${keysUrl('not-a-uuid')}`, { token: dev.token }), 400, 'VALIDATION_FAILED');
      // the other developer's attempts changed nothing: the key still works
      assert.equal(ok(await ingest({ sessions: [session()] }, mine.key), 202).accepted, 1);
    });

    test('at most 5 active keys per app (409 TOO_MANY_SDK_KEYS); revoking one makes room', async () => {
      const id = (await createDraft(send, dev.token, { name: 'Many Keys' })).id;
      const made = [];
      for (let i = 0; i < 5; i++) made.push(await createKey(id));
      const refused = expectError(await send('POST', keysUrl(id), { token: dev.token }), 409, 'TOO_MANY_SDK_KEYS');
      assert.match(refused.message, /at most 5 active SDK keys/);
      assert.equal(ok(await send('GET', keysUrl(id), { token: dev.token })).items.length, 5);

      assert.equal((await send('DELETE', `${keysUrl(id)}/${made[2].id}`, { token: dev.token })).statusCode, 204);
      const sixth = await createKey(id);
      const { items } = ok(await send('GET', keysUrl(id), { token: dev.token }));
      assert.equal(items.length, 6);
      assert.equal(items[0].id, sixth.id, 'active keys first, newest first');
      assert.deepEqual(
        items.slice(0, 5).map((k: { revokedAt: unknown }) => k.revokedAt),
        [null, null, null, null, null],
      );
      assert.equal(items[5].id, made[2].id);
      expectError(await send('POST', keysUrl(id), { token: dev.token }), 409, 'TOO_MANY_SDK_KEYS');
    });

    test('concurrent creations never exceed 5 active keys', async () => {
      const id = (await createDraft(send, dev.token, { name: 'Racing Keys' })).id;
      const answers = await Promise.all(Array.from({ length: 8 }, () => send('POST', keysUrl(id), { token: dev.token })));
      assert.deepEqual(answers.map((r) => r.statusCode).sort(), [201, 201, 201, 201, 201, 409, 409, 409]);
      const active = await db().query<{ n: number }>('SELECT count(*)::int AS n FROM sdk_keys WHERE app_id = $1 AND revoked_at IS NULL', [id]);
      assert.equal(active.rows[0].n, 5);
    });

    // ---------------------------------------------------------------- ingestion

    test('a batch is accepted (202) and stored with hashed ids and the UTC day', async () => {
      const before = await storedSessions();
      const [alpha, beta] = await installs(appId, 2);
      const batch = [
        session({ installId: 'device-install-alpha', installToken: alpha, country: 'DE', durationSeconds: 0 }),
        session({ installId: 'device-install-alpha', installToken: alpha, durationSeconds: MAX_INSTALL_DAY_SECONDS }),
        session({ installId: 'device-install-beta', installToken: beta, country: 'GB' }, 2 * MINUTE),
      ];
      const res = await ingest({ sessions: batch });
      assert.equal(res.statusCode, 202, res.body);
      assert.deepEqual(res.json(), { accepted: 3, duplicates: 0, refused: 0, refusals: [] });
      assert.equal(await storedSessions(), before + 3);

      const { rows } = await db().query<{ install_key: string; session_key: string; country: string; day: string; seconds: number }>(
        `SELECT install_key::text, session_key::text, country, day::text AS day, seconds FROM engagement_sessions
          WHERE app_id = $1 AND session_key = ANY($2::uuid[]) ORDER BY seconds`,
        [appId, batch.map((s) => hashedId(appId, s.sessionId))],
      );
      assert.equal(rows.length, 3);
      assert.deepEqual(
        rows.map((r) => r.seconds),
        [0, 120, MAX_INSTALL_DAY_SECONDS],
      );
      // the install is the one the token attests, whatever id the SDK sent
      assert.equal(rows[0].install_key, hashedId(appId, await installIdOf(alpha)));
      assert.equal(rows[2].install_key, rows[0].install_key);
      assert.equal(rows[1].install_key, hashedId(appId, await installIdOf(beta)));
      assert.equal(rows[1].day, batch[2].startedAt.slice(0, 10));
      assert.deepEqual(
        rows.map((r) => r.country),
        ['DE', 'GB', 'US'],
      );
      // nothing of the developer's identifiers is kept as sent
      const raw = await db().query<{ n: number }>(
        `SELECT count(*)::int AS n FROM engagement_sessions s WHERE s::text LIKE '%device-install%' OR s::text LIKE '%sess-%' OR s::text LIKE $1`,
        [`%${beta.slice(0, 20)}%`],
      );
      assert.equal(raw.rows[0].n, 0);
      const firstSeen = await db().query<{ first_day: string }>('SELECT first_day::text FROM engagement_installs WHERE app_id = $1 AND install_key = $2', [
        appId,
        hashedId(appId, await installIdOf(beta)),
      ]);
      assert.equal(firstSeen.rows[0].first_day, batch[2].startedAt.slice(0, 10));
    });

    test('replays are harmless: a replayed batch answers 202 with duplicates and stores nothing twice', async () => {
      const batch = [session(), session(), session()];
      const none = { refused: 0, refusals: [] };
      assert.deepEqual(ok(await ingest({ sessions: batch }), 202), { accepted: 3, duplicates: 0, ...none });
      const count = await storedSessions();
      assert.deepEqual(ok(await ingest({ sessions: batch }), 202), { accepted: 0, duplicates: 3, ...none });
      // partly new, and the same session twice in one batch
      const fresh = session();
      assert.deepEqual(ok(await ingest({ sessions: [batch[0], fresh, fresh, batch[2]] }), 202), { accepted: 1, duplicates: 3, ...none });
      assert.equal(await storedSessions(), count + 1);
      // a replay racing the original
      const racing = [session(), session()];
      const answers = await Promise.all([ingest({ sessions: racing }), ingest({ sessions: racing })]);
      const bodies = answers.map((r) => ok(r, 202));
      assert.equal(bodies[0].accepted + bodies[1].accepted, 2);
      assert.equal(bodies[0].duplicates + bodies[1].duplicates, 2);
      // the same session id under another app (with an install of that app) is another session
      const twin = (await publishApp(send, dev.token, admin.token, { name: 'Twin App' })).id;
      const [twinInstall] = await installs(twin);
      const otherKey = (await createKey(twin)).key;
      assert.deepEqual(ok(await ingest({ sessions: [{ ...batch[0], installToken: twinInstall }] }, otherKey), 202), { accepted: 1, duplicates: 0, ...none });
    });

    test('fabricated sessions are refused, counted and listed by index; the genuine ones of the batch are stored', async () => {
      const count = await storedSessions();
      const counted = Object.fromEntries(await Promise.all(REFUSAL_REASONS.map(async (r) => [r, await refusedCount(r)] as const)));
      const [genuine] = await installs(appId);
      const foreign = (await installs((await publishApp(send, dev.token, admin.token, { name: 'Other Habit' })).id))[0];
      // another install id under the genuine token's MAC; a token of the right shape this store never issued
      const [payload, mac] = genuine.split('.');
      const bytes = Buffer.from(payload, 'base64url');
      bytes[20] ^= 1;
      const altered = `${bytes.toString('base64url')}.${mac}`;
      const forged = `${randomBytes(37).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
      const { installToken: _, ...tokenless } = session({ installId: 'random-install-0001' });
      const batch = [
        session({ installToken: genuine }),
        tokenless, // a made-up install id, no token: what every SDK sent before
        session({ installToken: forged }),
        session({ installToken: altered }),
        session({ installToken: foreign }), // a real download, of another app
        session({ installToken: 'not-a-token' }),
        session({ installToken: genuine }),
      ];
      const answer = ok(await ingest({ sessions: batch }), 202);
      assert.deepEqual(answer, {
        accepted: 2,
        duplicates: 0,
        refused: 5,
        refusals: [
          { index: 1, reason: 'missing' },
          { index: 2, reason: 'invalid_token' },
          { index: 3, reason: 'invalid_token' },
          { index: 4, reason: 'wrong_app' },
          { index: 5, reason: 'invalid_token' },
        ],
      });
      assert.equal(await storedSessions(), count + 2);
      const stored = await db().query<{ install_key: string }>(
        'SELECT install_key::text FROM engagement_sessions WHERE app_id = $1 AND session_key = ANY($2::uuid[])',
        [appId, batch.map((s) => hashedId(appId, s.sessionId))],
      );
      assert.deepEqual(
        stored.rows.map((r) => r.install_key),
        [hashedId(appId, await installIdOf(genuine)), hashedId(appId, await installIdOf(genuine))],
      );
      // counted by reason
      assert.equal(await refusedCount('missing'), counted.missing + 1);
      assert.equal(await refusedCount('invalid_token'), counted.invalid_token + 3);
      assert.equal(await refusedCount('wrong_app'), counted.wrong_app + 1);

      // a batch of nothing but fabrications stores nothing, and says so
      const fabricated = Array.from({ length: 3 }, (_x, i) => session({ installToken: i === 1 ? foreign : forged }));
      assert.deepEqual(ok(await ingest({ sessions: fabricated }), 202), {
        accepted: 0,
        duplicates: 0,
        refused: 3,
        refusals: [
          { index: 0, reason: 'invalid_token' },
          { index: 1, reason: 'wrong_app' },
          { index: 2, reason: 'invalid_token' },
        ],
      });
      assert.equal(await storedSessions(), count + 2);
      // a replayed genuine session is still a duplicate, not a refusal
      assert.deepEqual(ok(await ingest({ sessions: [batch[0]] }), 202), { accepted: 0, duplicates: 1, refused: 0, refusals: [] });
    });

    test("sessions dated before their download, or past an install's daily cap, are refused and counted; first sessions are activations", async () => {
      const [token] = await installs(appId);
      const counted = { before: await refusedCount('before_download'), cap: await refusedCount('over_daily_cap') };
      const activationsBefore = await db().query<{ n: number }>(`SELECT coalesce(sum(activations), 0)::int AS n FROM app_daily_stats WHERE app_id = $1`, [
        appId,
      ]);
      const backdated = session({ installToken: token }, 2 * DAY); // one real download cannot vouch for the past
      const many = Array.from({ length: MAX_INSTALL_DAY_SESSIONS + 1 }, () => session({ installToken: token, durationSeconds: 60 }, 0));
      const answer = ok(await ingest({ sessions: [backdated, ...many] }), 202);
      assert.equal(answer.accepted, MAX_INSTALL_DAY_SESSIONS);
      assert.deepEqual(answer.refusals, [
        { index: 0, reason: 'before_download' },
        { index: MAX_INSTALL_DAY_SESSIONS + 1, reason: 'over_daily_cap' },
      ]);
      assert.equal(await refusedCount('before_download'), counted.before + 1);
      assert.equal(await refusedCount('over_daily_cap'), counted.cap + 1);
      // the next batch of the day is refused too; the install counted one activation
      assert.deepEqual(ok(await ingest({ sessions: [session({ installToken: token }, 0)] }), 202).refusals, [{ index: 0, reason: 'over_daily_cap' }]);
      const activationsAfter = await db().query<{ n: number }>(`SELECT coalesce(sum(activations), 0)::int AS n FROM app_daily_stats WHERE app_id = $1`, [
        appId,
      ]);
      assert.equal(activationsAfter.rows[0].n, activationsBefore.rows[0].n + 1);
    });

    test('an install token is good for 400 days after its download, then refused as expired', async () => {
      const [token] = await installs(appId);
      const ref = (await engagement.service.authenticate(key)) as SdkKeyRef;
      const at = (now: Date) => session({ installToken: token, startedAt: new Date(now.getTime() - MINUTE).toISOString() });
      const expired = await refusedCount('expired');
      const late = new Date(Date.now() + 401 * DAY);
      assert.deepEqual(await engagement.service.ingest(ref, [at(late)], late), {
        accepted: 0,
        duplicates: 0,
        refused: 1,
        refusals: [{ index: 0, reason: 'expired' }],
      });
      assert.equal(await refusedCount('expired'), expired + 1);
      const inTime = new Date(Date.now() + 399 * DAY);
      assert.deepEqual(await engagement.service.ingest(ref, [at(inTime)], inTime), { accepted: 1, duplicates: 0, refused: 0, refusals: [] });
    });

    test('every kind of bad batch is refused with a 4xx in the error shape, and nothing of it is stored', async () => {
      const count = await storedSessions();
      const big = { sessions: [session()], padding: 'x'.repeat(300 * 1024) };
      const cases: { what: string; body: unknown; status: number; code: string; mentions?: RegExp }[] = [
        { what: 'malformed JSON', body: '{"sessions": [', status: 400, code: 'INVALID_JSON' },
        { what: 'a JSON array', body: [session()], status: 400, code: 'VALIDATION_FAILED' },
        { what: 'sessions not an array', body: { sessions: 'many' }, status: 400, code: 'VALIDATION_FAILED', mentions: /sessions/ },
        {
          what: 'duration as a string',
          body: { sessions: [session({ durationSeconds: '60' as unknown as number })] },
          status: 400,
          code: 'VALIDATION_FAILED',
          mentions: /sessions\.0\.durationSeconds/,
        },
        {
          what: 'fractional duration',
          body: { sessions: [session({ durationSeconds: 1.5 })] },
          status: 400,
          code: 'VALIDATION_FAILED',
          mentions: /durationSeconds/,
        },
        {
          what: 'negative duration',
          body: { sessions: [session({ durationSeconds: -1 })] },
          status: 400,
          code: 'VALIDATION_FAILED',
          mentions: /durationSeconds/,
        },
        {
          what: 'duration over a day',
          body: { sessions: [session({ durationSeconds: 86_401 })] },
          status: 400,
          code: 'VALIDATION_FAILED',
          mentions: /durationSeconds/,
        },
        {
          what: 'a number as session id',
          body: { sessions: [session({ sessionId: 12345678 as unknown as string })] },
          status: 400,
          code: 'VALIDATION_FAILED',
          mentions: /sessionId/,
        },
        { what: 'a short session id', body: { sessions: [session({ sessionId: 'short' })] }, status: 400, code: 'VALIDATION_FAILED', mentions: /sessionId/ },
        {
          what: 'a long install id',
          body: { sessions: [session({ installId: 'i'.repeat(65) })] },
          status: 400,
          code: 'VALIDATION_FAILED',
          mentions: /installId/,
        },
        {
          what: 'a bad charset in an id',
          body: { sessions: [session({ installId: 'install id with spaces' })] },
          status: 400,
          code: 'VALIDATION_FAILED',
          mentions: /installId/,
        },
        {
          what: 'a missing field',
          body: { sessions: [{ ...session(), country: undefined }] },
          status: 400,
          code: 'VALIDATION_FAILED',
          mentions: /missing required field 'country'/,
        },
        {
          what: 'an unknown top-level field',
          body: { sessions: [session()], extra: 1 },
          status: 400,
          code: 'VALIDATION_FAILED',
          mentions: /unknown field 'extra'/,
        },
        {
          what: 'an unknown session field',
          body: { sessions: [session(), { ...session(), userId: 'u1' }] },
          status: 400,
          code: 'VALIDATION_FAILED',
          mentions: /sessions\.1 has unknown field 'userId'/,
        },
        {
          what: 'an install token far too long to be one',
          body: { sessions: [session({ installToken: 'x'.repeat(129) })] },
          status: 400,
          code: 'VALIDATION_FAILED',
          mentions: /installToken/,
        },
        {
          what: 'an install token that is not a string',
          body: { sessions: [session({ installToken: 42 as unknown as string })] },
          status: 400,
          code: 'VALIDATION_FAILED',
          mentions: /installToken/,
        },
        { what: 'an empty batch', body: { sessions: [] }, status: 400, code: 'VALIDATION_FAILED', mentions: /sessions/ },
        { what: 'no sessions at all', body: {}, status: 400, code: 'VALIDATION_FAILED', mentions: /missing required field 'sessions'/ },
        {
          what: 'too many sessions',
          body: { sessions: Array.from({ length: 501 }, () => session()) },
          status: 400,
          code: 'VALIDATION_FAILED',
          mentions: /500/,
        },
        { what: 'an oversized body', body: big, status: 413, code: 'BODY_TOO_LARGE' },
        { what: 'a lowercase country', body: { sessions: [session({ country: 'us' })] }, status: 400, code: 'VALIDATION_FAILED', mentions: /country/ },
        {
          what: 'an unknown storefront',
          body: { sessions: [session(), session({ country: 'XX' })] },
          status: 400,
          code: 'VALIDATION_FAILED',
          mentions: /body\.sessions\.1\.country 'XX' is not an Orchard storefront/,
        },
        {
          what: 'a start in the future',
          body: { sessions: [session(), session(), session({}, -10 * MINUTE)] },
          status: 400,
          code: 'VALIDATION_FAILED',
          mentions: /body\.sessions\.2\.startedAt .* in the future/,
        },
        {
          what: 'a start older than 30 days',
          body: { sessions: [session({}, 31 * DAY)] },
          status: 400,
          code: 'VALIDATION_FAILED',
          mentions: /body\.sessions\.0\.startedAt .*older than 30 days/,
        },
        {
          what: 'a start that is not a date-time',
          body: { sessions: [session({ startedAt: 'yesterday' })] },
          status: 400,
          code: 'VALIDATION_FAILED',
          mentions: /startedAt/,
        },
        {
          what: 'a date without a time',
          body: { sessions: [session({ startedAt: '2024-01-01' })] },
          status: 400,
          code: 'VALIDATION_FAILED',
          mentions: /startedAt/,
        },
      ];
      for (const c of cases) {
        const res = await ingest(c.body);
        const err = expectError(res, c.status, c.code);
        if (c.mentions) assert.match(err.message, c.mentions, `${c.what}: ${err.message}`);
      }
      // the good sessions of a bad batch are not stored either
      assert.equal(await storedSessions(), count);

      const plainText = await t.app.inject({
        method: 'POST',
        url: INGEST,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'text/plain' },
        payload: 'hello',
      });
      expectError(plainText, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    test('no key, a malformed or unknown key, or a user session is 401', async () => {
      const body = { sessions: [session()] };
      const count = await storedSessions();
      expectError(await ingest(body, null), 401, 'UNAUTHENTICATED');
      expectError(await ingest(body, 'osk_' + 'A'.repeat(43)), 401, 'INVALID_SDK_KEY');
      expectError(await ingest(body, 'osk_short'), 401, 'INVALID_SDK_KEY');
      expectError(await ingest(body, dev.token), 401, 'INVALID_SDK_KEY');
      const basic = await t.app.inject({
        method: 'POST',
        url: INGEST,
        headers: { authorization: `Basic ${key}`, 'content-type': 'application/json' },
        payload: body,
      });
      expectError(basic, 401, 'INVALID_SDK_KEY');
      // 401 comes first, even for a body that is bad too
      expectError(await ingest('{"sessions": [', null), 401, 'UNAUTHENTICATED');
      assert.equal(await storedSessions(), count);
    });

    test('each key has its own batch budget: past it, 429 with Retry-After', async () => {
      const id = (await publishApp(send, dev.token, admin.token, { name: 'Chatty App' })).id;
      const [first, second] = [await createKey(id), await createKey(id)];
      const [chatty] = await installs(id);
      const url = '/rate-limited' + INGEST;
      ok(await ingest({ sessions: [session({ installToken: chatty })] }, first.key, url), 202);
      ok(await ingest({ sessions: [session({ installToken: chatty })] }, first.key, url), 202);
      const limited = await ingest({ sessions: [session({ installToken: chatty })] }, first.key, url);
      expectError(limited, 429, 'RATE_LIMITED');
      assert.ok(Number(limited.headers['retry-after']) >= 1);
      ok(await ingest({ sessions: [session({ installToken: chatty })] }, second.key, url), 202); // another key of the same app has its own budget
    });

    // ---------------------------------------------------------------- aggregation

    test('aggregation: DAU, MAU, day-7 retention, average minutes and daily rows from a hand-made data set', async () => {
      // now = 2020-06-15 10:00Z: the last complete day D is 2020-06-14; MAU over 05-16..06-14; retention cohort
      // first seen 06-01..06-07, back exactly 7 days later; average minutes over 06-08..06-14; daily rows since 05-15.
      const NOW = new Date('2020-06-15T10:00:00Z');
      // the hand-made sessions are of 2020: this test's downloads are taken as made before them (sessions dated
      // before their download are refused)
      const real = t.modules.library.installTokens;
      const backdated = createEngagement({
        db: t.infra.db,
        cache: t.infra.cache,
        logger: t.infra.logger,
        metrics: t.infra.metrics,
        installTokens: { verify: async (token, now) => ((c) => (c.ok ? { ...c, issuedAt: new Date(0) } : c))(await real.verify(token, now)) },
      });
      const id = (await publishApp(send, dev.token, admin.token, { name: 'Measured App' })).id;
      const ref = (await engagement.service.authenticate((await createKey(id)).key)) as SdkKeyRef;
      assert.ok(ref);
      // one real download per install (i1..i8 here, 'old' of the stale app below)
      const tokenOf = new Map<string, string>();
      (await installs(id, 8)).forEach((token, i) => tokenOf.set(`i${i + 1}`, token));
      let n = 0;
      const s = (install: string, country: string, startedAt: string, durationSeconds: number): SessionInput => ({
        sessionId: `agg-session-${++n}`,
        installToken: tokenOf.get(install),
        country,
        startedAt,
        durationSeconds,
      });
      const none = { refused: 0, refusals: [] };
      const batch1 = [
        s('i1', 'US', '2020-06-01T08:00:00Z', 600),
        s('i1', 'US', '2020-06-08T09:00:00Z', 300), // day 7 of i1: retained
        s('i1', 'US', '2020-06-14T07:00:00Z', 120),
        s('i1', 'US', '2020-06-14T20:00:00Z', 180), // twice on D: one active user, two sessions
        s('i2', 'DE', '2020-06-03T12:00:00Z', 60),
        s('i2', 'DE', '2020-06-09T12:00:00Z', 90), // day 6 of i2, not day 7: not retained
        s('i2', 'DE', '2020-06-14T12:00:00Z', 240),
        s('i3', 'US', '2020-06-08T01:30:00+02:00', 1200), // UTC day 06-07
        s('i3', 'US', '2020-06-14T00:00:00Z', 60), // day 7 of i3: retained
        s('i4', 'US', '2020-05-20T10:00:00Z', 100), // in MAU, no cohort
        s('i5', 'GB', '2020-06-12T10:00:00Z', 30), // first seen too recently for the cohort
        s('i8', 'US', '2020-06-10T10:00:00Z', 60),
      ];
      assert.deepEqual(await backdated.service.ingest(ref, batch1, NOW), { accepted: 12, duplicates: 0, ...none });
      // a late batch: i8 was first seen earlier than we knew (06-05), so it joins the cohort (not retained: no 06-12)
      assert.deepEqual(await backdated.service.ingest(ref, [s('i8', 'US', '2020-06-05T10:00:00Z', 45)], NOW), { accepted: 1, duplicates: 0, ...none });
      // older sessions, sent back then: i6 before the MAU window, i7 old enough to be pruned (older than 40 days)
      await backdated.service.ingest(ref, [s('i6', 'US', '2020-05-10T10:00:00Z', 500)], new Date('2020-05-20T00:00:00Z'));
      await backdated.service.ingest(ref, [s('i7', 'US', '2020-05-01T10:00:00Z', 400)], new Date('2020-05-10T00:00:00Z'));

      // a row with other signals already in it keeps them; an old guess of the engagement columns is replaced
      await db().query(
        `INSERT INTO app_daily_stats (app_id, country, day, first_downloads, revenue_milli, active_users, sessions, session_seconds)
         VALUES ($1, 'US', '2020-06-14', 7, 990, 99, 99, 99)`,
        [id],
      );
      // an SDK-fed app whose sessions are all old has its figures zeroed; an app that never had SDK data is left alone
      const stale = (await publishApp(send, dev.token, admin.token, { name: 'Stale App' })).id;
      const staleRef = (await engagement.service.authenticate((await createKey(stale)).key)) as SdkKeyRef;
      tokenOf.set('old', (await installs(stale))[0]);
      await backdated.service.ingest(staleRef, [s('old', 'US', '2020-04-20T10:00:00Z', 100)], new Date('2020-04-21T00:00:00Z'));
      const untouched = randomUUID();
      await db().query(
        `INSERT INTO app_engagement (app_id, dau, mau, day7_retention, avg_session_minutes, updated_at) VALUES
           ($1, 9, 9, 0.9, 9, '2020-01-01T00:00:00Z'), ($2, 5, 50, 0.5, 5, '2020-01-01T00:00:00Z')`,
        [stale, untouched],
      );

      const first = await engagement.aggregate(NOW);
      assert.equal(first.day, '2020-06-14');
      assert.equal(first.full, true, 'the first run of a day recounts 31 days');
      assert.ok(first.pruned >= 2, `pruned ${first.pruned}`); // i7's and the stale app's sessions

      const figures = async (appId: string) =>
        (
          await db().query<{ dau: number; mau: number; day7_retention: number; avg_session_minutes: number; updated_at: Date }>(
            'SELECT dau, mau, day7_retention, avg_session_minutes, updated_at FROM app_engagement WHERE app_id = $1',
            [appId],
          )
        ).rows[0];
      const expected = async () => {
        const e = await figures(id);
        assert.equal(e.dau, 3); // i1, i2, i3 on 06-14
        assert.equal(e.mau, 6); // i1, i2, i3, i4, i5, i8 (not i6: 05-10; not i7)
        assert.ok(Math.abs(e.day7_retention - 0.5) < 1e-6, `retention ${e.day7_retention}`); // i1, i3 of i1, i2, i3, i8
        assert.ok(Math.abs(e.avg_session_minutes - 2.25) < 1e-6, `avg ${e.avg_session_minutes}`); // 1080 s / 8 sessions / 60
        assert.equal(e.updated_at.toISOString(), NOW.toISOString());
      };
      await expected();

      const daily = async (appId: string) =>
        (
          await db().query<{
            country: string;
            day: string;
            active_users: number;
            sessions: number;
            session_seconds: string;
            first_downloads: number;
            revenue_milli: string;
          }>(
            `SELECT country, day::text AS day, active_users, sessions, session_seconds::text, first_downloads, revenue_milli::text
               FROM app_daily_stats WHERE app_id = $1 AND day < '2021-01-01' ORDER BY day, country`,
            [appId],
          )
        ).rows.map((r) => `${r.day} ${r.country} ${r.active_users}/${r.sessions}/${r.session_seconds} fd=${r.first_downloads} rev=${r.revenue_milli}`);
      // (the hand-made data set is in 2020; today's row has the first download that attested the installs)
      const expectedDaily = [
        // i7's and i6's first sessions (since pruned) are activations: their daily rows stay
        '2020-05-01 US 0/0/0 fd=0 rev=0',
        '2020-05-10 US 0/0/0 fd=0 rev=0',
        '2020-05-20 US 1/1/100 fd=0 rev=0',
        '2020-06-01 US 1/1/600 fd=0 rev=0',
        '2020-06-03 DE 1/1/60 fd=0 rev=0',
        '2020-06-05 US 1/1/45 fd=0 rev=0',
        '2020-06-07 US 1/1/1200 fd=0 rev=0',
        '2020-06-08 US 1/1/300 fd=0 rev=0',
        '2020-06-09 DE 1/1/90 fd=0 rev=0',
        '2020-06-10 US 1/1/60 fd=0 rev=0',
        '2020-06-12 GB 1/1/30 fd=0 rev=0',
        '2020-06-14 DE 1/1/240 fd=0 rev=0',
        '2020-06-14 US 2/3/360 fd=7 rev=990',
      ];
      assert.deepEqual(await daily(id), expectedDaily); // nothing for 05-10 (before the 31 days) nor 05-01

      const gone = await figures(stale);
      assert.deepEqual([gone.dau, gone.mau, gone.day7_retention, gone.avg_session_minutes], [0, 0, 0, 0]);
      const left = await figures(untouched);
      assert.deepEqual([left.dau, left.mau, left.day7_retention, left.avg_session_minutes], [5, 50, 0.5, 5]);
      assert.equal(left.updated_at.toISOString(), '2020-01-01T00:00:00.000Z');

      const kept = await db().query<{ n: number }>('SELECT count(*)::int AS n FROM engagement_sessions WHERE app_id = $1', [id]);
      assert.equal(kept.rows[0].n, 14); // 15 sent, i7's pruned
      const i7 = await db().query<{ first_day: string }>('SELECT first_day::text FROM engagement_installs WHERE app_id = $1 AND install_key = $2', [
        id,
        hashedId(id, await installIdOf(tokenOf.get('i7')!)),
      ]);
      assert.equal(i7.rows[0].first_day, '2020-05-01', 'first days outlive the sessions');

      // rerunning changes nothing (and rewrites no daily row)
      const again = await engagement.aggregate(NOW);
      assert.equal(again.full, false);
      assert.equal(again.dailyRows, 0);
      await expected();
      assert.deepEqual(await daily(id), expectedDaily);

      // a late session for D: the next run counts it
      await backdated.service.ingest(ref, [s('i5', 'GB', '2020-06-14T23:00:00Z', 90)], NOW);
      const third = await engagement.aggregate(NOW);
      assert.equal(third.dailyRows, 1);
      const e = await figures(id);
      assert.equal(e.dau, 4);
      assert.equal(e.mau, 6);
      assert.ok(Math.abs(e.avg_session_minutes - 1170 / 9 / 60) < 1e-5, `avg ${e.avg_session_minutes}`);
      assert.ok((await daily(id)).includes('2020-06-14 GB 1/1/90 fd=0 rev=0'));

      // a session days late (i2 on 06-10, its day 7): the figures take it at once, the daily rows of days before
      // yesterday at the next full pass
      await backdated.service.ingest(ref, [s('i2', 'DE', '2020-06-10T10:00:00Z', 30)], NOW);
      assert.equal((await engagement.aggregate(NOW)).dailyRows, 0);
      assert.ok(Math.abs((await figures(id)).day7_retention - 0.75) < 1e-6); // i1, i2, i3 of i1, i2, i3, i8
      assert.ok(!(await daily(id)).some((r) => r.startsWith('2020-06-10 DE')));
      const forced = await engagement.aggregate(NOW, { full: true });
      assert.equal(forced.full, true);
      assert.equal(forced.dailyRows, 1);
      assert.ok((await daily(id)).includes('2020-06-10 DE 1/1/30 fd=0 rev=0'));

      // the next day: the window moves (D = 06-15): no one active, i4 (05-20) still in MAU; cohort 06-02..06-08
      assert.equal((await engagement.aggregate(new Date('2020-06-16T00:30:00Z'))).full, true);
      const next = await figures(id);
      assert.equal(next.dau, 0);
      assert.equal(next.mau, 6);
      // cohort first seen 06-02..06-08: i2 (06-03, back 06-10: yes), i3 (06-07, back 06-14: yes), i8 (06-05, back 06-12? no)
      assert.ok(Math.abs(next.day7_retention - 2 / 3) < 1e-6, `retention ${next.day7_retention}`);
      // sessions over 06-09..06-15: 90 + 240 + 60 + 120 + 180 + 60 + 30 + 90 + 30 (i2 06-10)
      assert.ok(Math.abs(next.avg_session_minutes - 900 / 9 / 60) < 1e-5, `avg ${next.avg_session_minutes}`);
    });
  });
}
