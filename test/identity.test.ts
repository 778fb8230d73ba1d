import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildApp } from '../src/app.ts';
import { createIdentity, hashPassword, purgeEndedSessions, STOREFRONT_COUNTRIES } from '../src/modules/identity/index.ts';
import { kinds } from './support/infra.ts';
import { bearer, createTestApp, makeAdmin, makeDeveloper, randomIp, registerUser, type TestApp } from './support/app.ts';

const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');
const uniqueEmail = () => `id-${Math.random().toString(36).slice(2)}@example.test`;

for (const kind of kinds()) {
  describe(`identity (${kind})`, () => {
    let t: TestApp;
    let app: FastifyInstance;
    let limited: FastifyInstance; // same infrastructure, tiny rate limits
    const send = (opts: InjectOptions & { token?: string }) =>
      app.inject({
        remoteAddress: randomIp(),
        ...opts,
        headers: { ...(opts.token ? bearer(opts.token) : {}), ...opts.headers },
      });
    const me = (token: string) => send({ url: '/api/v1/me', token });
    const login = (email: string, password: string, remoteAddress = randomIp(), on = app) =>
      on.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password }, remoteAddress });

    before(async () => {
      t = await createTestApp(kind);
      app = t.app;
      const { infra } = t;
      limited = await buildApp(infra.config, infra, {
        ...t.modules,
        identity: createIdentity({
          ...infra,
          config: infra.config,
          limits: {
            loginPerIp: { max: 5, windowMs: 60_000 },
            loginPerAccountAndIp: { max: 2, windowMs: 60_000 },
            loginPerAccount: { max: 5, windowMs: 60_000 },
            registerPerIp: { max: 2, windowMs: 60_000 },
          },
        }),
      });
    });
    after(async () => {
      await limited?.close();
      await t?.close();
    });

    test('register: 201 with the user and a session that works', async () => {
      const email = uniqueEmail();
      const res = await send({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { email, password: 'a long enough pw', displayName: '  Ada  ', country: 'GB' },
      });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      const { user, session } = res.json();
      assert.deepEqual(Object.keys(user).sort(), ['country', 'createdAt', 'developer', 'displayName', 'email', 'id', 'role']);
      assert.equal(user.email, email);
      assert.equal(user.displayName, 'Ada');
      assert.equal(user.role, 'user');
      assert.equal(user.country, 'GB');
      assert.equal(user.developer, null);
      assert.match(user.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7/);
      assert.ok(Math.abs(Date.parse(user.createdAt) - Date.now()) < 60_000);
      assert.match(session.token, /^orc_[A-Za-z0-9_-]{43}$/);
      assert.ok(Math.abs(Date.parse(session.expiresAt) - (Date.now() + t.infra.config.sessionTtlMs)) < 60_000);

      const got = await me(session.token);
      assert.equal(got.statusCode, 200, got.body);
      assert.deepEqual(got.json(), user);
      assert.doesNotMatch(got.body + res.body, /hash|argon/i);
    });

    test('register: country defaults to US; email is unique whatever its case', async () => {
      const { user } = await registerUser(app);
      assert.equal(user.country, 'US');
      const res = await send({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { email: user.email.toUpperCase(), password: 'another password', displayName: 'Copy' },
      });
      assert.equal(res.statusCode, 409);
      assert.equal(res.json().error.code, 'EMAIL_TAKEN');
    });

    test('register: concurrent sign-ups with one email: exactly one wins', async () => {
      const email = uniqueEmail();
      const results = await Promise.all(
        [email, email.toUpperCase(), email].map((e) =>
          send({ method: 'POST', url: '/api/v1/auth/register', payload: { email: e, password: 'long enough pw', displayName: 'Race' } }),
        ),
      );
      assert.deepEqual(results.map((r) => r.statusCode).sort(), [201, 409, 409]);
    });

    test('the country list matches the storefronts table', async () => {
      const { rows } = await t.infra.db.query<{ country: string }>('SELECT country FROM storefronts ORDER BY country');
      assert.deepEqual(
        rows.map((r) => r.country),
        [...STOREFRONT_COUNTRIES].sort(),
      );
    });

    test('register: records user.registered in the outbox', async () => {
      const { user } = await registerUser(app);
      const { rows } = await t.infra.db.query('SELECT type, payload FROM outbox WHERE aggregate_id = $1', [user.id]);
      assert.deepEqual(
        rows.map((r) => r.type),
        ['user.registered'],
      );
      assert.equal(rows[0].payload.userId, user.id);
    });

    test('login: 200 with a new session; the email matches case-insensitively', async () => {
      const { user, password } = await registerUser(app);
      const res = await login(user.email.toUpperCase(), password);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().user.id, user.id);
      assert.equal((await me(res.json().session.token)).statusCode, 200);
    });

    test('metrics count registrations and sign-ins by outcome', async () => {
      const { user, password } = await registerUser(app);
      await login(user.email, password);
      await login(user.email, 'not-the-password');
      const body = (await app.inject('/metrics')).body;
      assert.match(body, /identity_registrations_total [1-9]/);
      assert.match(body, /identity_logins_total\{outcome="success"\} [1-9]/);
      assert.match(body, /identity_logins_total\{outcome="failure"\} [1-9]/);
    });

    test('login: wrong password and unknown email get the same 401', async () => {
      const { user } = await registerUser(app);
      const wrong = await login(user.email, 'not the password');
      const unknown = await login(uniqueEmail(), 'not the password');
      for (const res of [wrong, unknown]) {
        assert.equal(res.statusCode, 401);
        assert.equal(res.json().error.code, 'INVALID_CREDENTIALS');
      }
      assert.equal(wrong.json().error.message, unknown.json().error.message);
    });

    test('logout: 204, that token is then refused (even after being cached), others still work', async () => {
      const { user, token, password } = await registerUser(app);
      const other = (await login(user.email, password)).json().session.token;
      assert.equal((await me(token)).statusCode, 200); // now cached
      const res = await send({ method: 'POST', url: '/api/v1/auth/logout', token });
      assert.equal(res.statusCode, 204);
      const after = await me(token);
      assert.equal(after.statusCode, 401);
      assert.equal(after.json().error.code, 'UNAUTHENTICATED');
      assert.equal((await me(other)).statusCode, 200);
      assert.equal((await send({ method: 'POST', url: '/api/v1/auth/logout', token })).statusCode, 401);
    });

    test('password change: revokes every session, returns a fresh one, old password stops working', async () => {
      const { user, token, password } = await registerUser(app);
      const second = (await login(user.email, password)).json().session.token;
      await me(token);
      await me(second);

      const wrong = await send({
        method: 'POST',
        url: '/api/v1/me/password',
        token,
        payload: { currentPassword: 'wrong password', newPassword: 'brand new password' },
      });
      assert.equal(wrong.statusCode, 403);
      assert.equal(wrong.json().error.code, 'WRONG_PASSWORD');

      const res = await send({
        method: 'POST',
        url: '/api/v1/me/password',
        token,
        payload: { currentPassword: password, newPassword: 'brand new password' },
      });
      assert.equal(res.statusCode, 200, res.body);
      const fresh = res.json().session.token;
      assert.equal((await me(token)).statusCode, 401);
      assert.equal((await me(second)).statusCode, 401);
      assert.equal((await me(fresh)).statusCode, 200);
      assert.equal((await login(user.email, password)).statusCode, 401);
      assert.equal((await login(user.email, 'brand new password')).statusCode, 200);
    });

    test('become a developer: 201, role and developer row; twice is 409', async () => {
      const { token, user } = await registerUser(app);
      await me(token); // cache the principal as a plain user
      const res = await send({
        method: 'POST',
        url: '/api/v1/me/developer',
        token,
        payload: { companyName: 'Acme Apps', website: 'https://acme.example' },
      });
      assert.equal(res.statusCode, 201, res.body);
      const dev = res.json();
      assert.equal(dev.role, 'developer');
      assert.equal(dev.developer.companyName, 'Acme Apps');
      assert.equal(dev.developer.website, 'https://acme.example');
      assert.equal(dev.developer.verified, false);
      assert.ok(Date.parse(dev.developer.createdAt));
      assert.deepEqual((await me(token)).json(), dev);

      const principal = await t.modules.identity.authenticator.authenticate(token);
      assert.equal(principal?.role, 'developer');
      assert.equal(principal?.developerId, dev.developer.id);
      assert.equal(principal?.userId, user.id);

      const { rows } = await t.infra.db.query('SELECT type FROM outbox WHERE aggregate_id = $1', [dev.developer.id]);
      assert.deepEqual(
        rows.map((r) => r.type),
        ['developer.enrolled'],
      );

      const again = await send({ method: 'POST', url: '/api/v1/me/developer', token, payload: { companyName: 'Acme 2' } });
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().error.code, 'ALREADY_DEVELOPER');
    });

    test('become a developer: website must be https; admins stay admins', async () => {
      const { token } = await registerUser(app);
      const http = await send({
        method: 'POST',
        url: '/api/v1/me/developer',
        token,
        payload: { companyName: 'Acme', website: 'http://acme.example' },
      });
      assert.equal(http.statusCode, 400);
      assert.equal(http.json().error.code, 'VALIDATION_FAILED');

      const admin = await makeAdmin(t.infra, app);
      const res = await send({ method: 'POST', url: '/api/v1/me/developer', token: admin.token, payload: { companyName: 'Ops' } });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().role, 'admin');
      assert.ok(res.json().developer.id);
    });

    test('test helpers: makeDeveloper', async () => {
      const dev = await makeDeveloper(app);
      assert.equal(dev.user.role, 'developer');
      assert.equal((await me(dev.token)).json().developer.id, dev.user.developer!.id);
    });

    test('tokens are stored only as their sha256', async () => {
      const { user, token } = await registerUser(app);
      const { rows } = await t.infra.db.query(`SELECT encode(token_hash, 'hex') AS hash, s.*::text AS whole FROM sessions s WHERE user_id = $1`, [user.id]);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].hash, sha256hex(token));
      assert.ok(!rows[0].whole.includes(token.slice(4)));
      const users = await t.infra.db.query(`SELECT password_hash FROM users WHERE id = $1`, [user.id]);
      assert.match(users.rows[0].password_hash, /^\$argon2id\$/);
    });

    test('expired or unknown tokens: 401', async () => {
      const { user, token } = await registerUser(app);
      await t.infra.db.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [user.id]);
      const res = await me(token);
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().error.code, 'UNAUTHENTICATED');
      assert.equal((await me('orc_' + 'A'.repeat(43))).statusCode, 401);
      assert.equal((await me('not-a-token')).statusCode, 401);
    });

    test('revoked in the database: 401', async () => {
      const { user, token } = await registerUser(app);
      await t.infra.db.query(`UPDATE sessions SET revoked_at = now() WHERE user_id = $1`, [user.id]);
      assert.equal((await me(token)).statusCode, 401);
    });

    test('rate limit: login per IP -> 429 with Retry-After', async () => {
      const ip = randomIp();
      for (let i = 0; i < 5; i++) assert.equal((await login(uniqueEmail(), 'whatever pw', ip, limited)).statusCode, 401);
      const res = await login(uniqueEmail(), 'whatever pw', ip, limited);
      assert.equal(res.statusCode, 429);
      assert.equal(res.json().error.code, 'RATE_LIMITED');
      assert.ok(Number(res.headers['retry-after']) >= 1);
      assert.equal((await login(uniqueEmail(), 'whatever pw', randomIp(), limited)).statusCode, 401);
    });

    test('rate limit: failures per account and address lock only that address; a success clears them', async () => {
      const a = await registerUser(app);
      const stranger = randomIp();
      assert.equal((await login(a.user.email, 'wrong password', stranger, limited)).statusCode, 401);
      assert.equal((await login(a.user.email, 'wrong password', stranger, limited)).statusCode, 401);
      const locked = await login(a.user.email, a.password, stranger, limited);
      assert.equal(locked.statusCode, 429, 'even the right password is refused from that address');
      assert.equal(locked.json().error.code, 'RATE_LIMITED');
      assert.match(locked.json().error.message, /from your address/);
      assert.ok(Number(locked.headers['retry-after']) >= 1);
      // the owner, elsewhere, is not locked out by the stranger
      const owner = randomIp();
      assert.equal((await login(a.user.email.toUpperCase(), a.password, owner, limited)).statusCode, 200);
      // a success clears the owner's own typos: two failures in all, but never two in a row
      assert.equal((await login(a.user.email, 'wrong password', owner, limited)).statusCode, 401);
      assert.equal((await login(a.user.email, a.password, owner, limited)).statusCode, 200);
      assert.equal((await login(a.user.email, 'wrong password', owner, limited)).statusCode, 401);
      assert.equal((await login(a.user.email, a.password, owner, limited)).statusCode, 200);
    });

    test('rate limit (default limits): five wrong passwords from a stranger do not lock the owner out', async () => {
      const a = await registerUser(app);
      const stranger = randomIp();
      for (let i = 0; i < 5; i++) assert.equal((await login(a.user.email, 'wrong password', stranger)).statusCode, 401);
      assert.equal((await login(a.user.email, 'wrong password', stranger)).statusCode, 429);
      assert.equal((await login(a.user.email, a.password)).statusCode, 200);
    });

    test('rate limit: failures on one account from many addresses reach a ceiling that pauses it', async () => {
      const a = await registerUser(app);
      for (let i = 0; i < 5; i++) assert.equal((await login(a.user.email, 'wrong password', randomIp(), limited)).statusCode, 401);
      const res = await login(a.user.email, a.password, randomIp(), limited);
      assert.equal(res.statusCode, 429);
      assert.match(res.json().error.message, /many addresses/);
      assert.ok(Number(res.headers['retry-after']) >= 1);
      // other accounts are untouched
      const b = await registerUser(app);
      assert.equal((await login(b.user.email, b.password, randomIp(), limited)).statusCode, 200);
    });

    test('rate limit: registration per IP', async () => {
      const ip = randomIp();
      const register = () =>
        limited.inject({
          method: 'POST',
          url: '/api/v1/auth/register',
          remoteAddress: ip,
          payload: { email: uniqueEmail(), password: 'long enough pw', displayName: 'R' },
        });
      assert.equal((await register()).statusCode, 201);
      assert.equal((await register()).statusCode, 201);
      const res = await register();
      assert.equal(res.statusCode, 429);
      assert.ok(res.headers['retry-after']);
    });

    test('service and hashPassword for other modules and the seed', async () => {
      const { service } = t.modules.identity;
      const createdAt = new Date('2020-01-02T03:04:05.000Z');
      const email = uniqueEmail();
      const user = await service.createUser({
        email,
        passwordHash: await hashPassword('seeded password'),
        displayName: 'Seeded',
        createdAt,
        role: 'admin',
        country: 'JP',
      });
      assert.equal(user.createdAt, createdAt.toISOString());
      assert.deepEqual(await service.getUser(user.id), user);
      assert.equal(user.role, 'admin');
      const res = await login(email, 'seeded password');
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().user.createdAt, createdAt.toISOString());
      assert.equal(await service.getUser('00000000-0000-7000-8000-000000000000'), null);
    });

    describe('bad input answers 4xx in the error shape', () => {
      const register = { method: 'POST' as const, url: '/api/v1/auth/register' };
      const good = { email: 'x@example.test', password: 'long enough pw', displayName: 'X' };
      const cases: [string, InjectOptions, number, string][] = [
        ['malformed JSON', { ...register, headers: { 'content-type': 'application/json' }, payload: '{"email":' }, 400, 'INVALID_JSON'],
        ['empty JSON body', { ...register, headers: { 'content-type': 'application/json' }, payload: '' }, 400, 'INVALID_JSON'],
        ['JSON array body', { ...register, payload: [good] as any }, 400, 'VALIDATION_FAILED'],
        ['password of the wrong type', { ...register, payload: { ...good, password: 123 } }, 400, 'VALIDATION_FAILED'],
        ['unknown field', { ...register, payload: { ...good, role: 'admin' } }, 400, 'VALIDATION_FAILED'],
        ['missing field', { ...register, payload: { email: good.email, password: good.password } }, 400, 'VALIDATION_FAILED'],
        ['bad email', { ...register, payload: { ...good, email: 'not-an-email' } }, 400, 'VALIDATION_FAILED'],
        ['short password', { ...register, payload: { ...good, password: 'short' } }, 400, 'VALIDATION_FAILED'],
        ['long password', { ...register, payload: { ...good, password: 'x'.repeat(257) } }, 400, 'VALIDATION_FAILED'],
        ['blank displayName', { ...register, payload: { ...good, displayName: '   ' } }, 400, 'VALIDATION_FAILED'],
        ['unknown country', { ...register, payload: { ...good, country: 'XX' } }, 400, 'VALIDATION_FAILED'],
        ['oversized body', { ...register, payload: { ...good, displayName: 'x'.repeat(1_100_000) } }, 413, 'BODY_TOO_LARGE'],
        ['text/plain', { ...register, headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(good) }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
        ['login with a missing password', { method: 'POST', url: '/api/v1/auth/login', payload: { email: good.email } }, 400, 'VALIDATION_FAILED'],
        ['Authorization not Bearer', { url: '/api/v1/me', headers: { authorization: 'Token abc' } }, 401, 'UNAUTHENTICATED'],
        ['Bearer without a token', { url: '/api/v1/me', headers: { authorization: 'Bearer ' } }, 401, 'UNAUTHENTICATED'],
        ['no Authorization', { url: '/api/v1/me' }, 401, 'UNAUTHENTICATED'],
      ];
      for (const [name, opts, status, code] of cases) {
        test(name, async () => {
          const res = await send(opts);
          assert.equal(res.statusCode, status, res.body);
          const body = res.json();
          assert.equal(body.error.code, code);
          assert.equal(typeof body.error.message, 'string');
          assert.ok(body.error.message.length > 0);
        });
      }

      test('validation messages say what to fix', async () => {
        const res = await send({ ...register, payload: { ...good, role: 'admin' } });
        assert.match(res.json().error.message, /unknown field 'role'/);
      });

      test('password change and enrollment validate their bodies too', async () => {
        const { token } = await registerUser(app);
        const pw = await send({ method: 'POST', url: '/api/v1/me/password', token, payload: { currentPassword: 'x', newPassword: 'short' } });
        assert.equal(pw.statusCode, 400);
        const dev = await send({ method: 'POST', url: '/api/v1/me/developer', token, payload: { companyName: 'A', extra: 1 } });
        assert.equal(dev.statusCode, 400);
        const blank = await send({ method: 'POST', url: '/api/v1/me/developer', token, payload: { companyName: ' ' } });
        assert.equal(blank.statusCode, 400);
        assert.equal(blank.json().error.code, 'VALIDATION_FAILED');
      });
    });

    test('unexpected errors still reach the app handler: 500 without internals', async () => {
      const { token } = await registerUser(app);
      const { service } = t.modules.identity;
      const original = service.getUser;
      service.getUser = async () => {
        throw new Error('secret internals');
      };
      try {
        const res = await me(token);
        assert.equal(res.statusCode, 500);
        assert.equal(res.json().error.code, 'INTERNAL');
        assert.doesNotMatch(res.body, /secret/);
      } finally {
        service.getUser = original;
      }
    });

    test('the sessions-purge job deletes sessions that ended over 30 days ago, and only those', async () => {
      const a = await registerUser(app);
      const b = await registerUser(app);
      const db = t.infra.db;
      // a's session ended 31 days ago, b's 29 days ago
      await db.query(`UPDATE sessions SET expires_at = now() - interval '31 days' WHERE user_id = $1`, [a.user.id]);
      await db.query(`UPDATE sessions SET expires_at = now() - interval '29 days' WHERE user_id = $1`, [b.user.id]);
      assert.ok((await purgeEndedSessions(db)) >= 1);
      const left = async (userId: string) => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [userId])).rows[0].n;
      assert.equal(await left(a.user.id), 0);
      assert.equal(await left(b.user.id), 1);
      assert.equal((await me(a.token)).statusCode, 401);
      assert.ok(t.modules.identity.jobs.some((j) => j.name === 'identity.sessions-purge'));
    });

    test('OpenAPI lists the identity routes under their tag', async () => {
      const doc = (await app.inject('/docs/json')).json();
      assert.deepEqual(doc.paths['/api/v1/auth/register'].post.tags, ['identity']);
      assert.ok(doc.paths['/api/v1/me'].get);
      assert.doesNotMatch(JSON.stringify(doc.paths['/api/v1/me']), /password_hash|token_hash/);
    });
  });
}
