// An app on fresh test infrastructure, and users of each role for HTTP tests.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp, createModules, startEvents, type Modules } from '../../src/app.ts';
import type { Config } from '../../src/config.ts';
import type { User } from '../../src/modules/identity/index.ts';
import { createTestInfra, type Kind, type TestInfra } from './infra.ts';

export interface TestApp {
  app: FastifyInstance;
  infra: TestInfra;
  modules: Modules;
  close(): Promise<void>;
}

/** buildApp on createTestInfra(kind), bus started. `modules` builds custom modules (e.g. other rate limits). */
export async function createTestApp(
  kind: Kind,
  opts: { config?: Partial<Config>; modules?: (infra: TestInfra) => Modules; via?: Parameters<typeof createTestInfra>[2] } = {},
): Promise<TestApp> {
  const infra = await createTestInfra(kind, opts.config, opts.via);
  const modules = opts.modules ? opts.modules(infra) : createModules(infra.config, infra);
  const app = await buildApp(infra.config, infra, modules);
  await startEvents(infra, modules, { relay: true, consume: true });
  return {
    app,
    infra,
    modules,
    async close() {
      await app.close();
      await infra.close();
    },
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A client address of its own, so helpers never run into the per-IP rate limits. */
export const randomIp = () => `10.${[...randomBytes(3)].join('.')}`;

export interface TestUser {
  token: string;
  user: User;
  password: string;
}

/** Registers a user with a unique email (overrides go into the request body). */
export async function registerUser(
  app: FastifyInstance,
  overrides: Partial<{ email: string; password: string; displayName: string; country: string }> = {},
): Promise<TestUser> {
  const body = {
    email: `user-${randomBytes(6).toString('hex')}@example.test`,
    password: 'correct horse battery',
    displayName: 'Test User',
    ...overrides,
  };
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: body, remoteAddress: randomIp() });
  if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`);
  const { user, session } = res.json();
  return { token: session.token, user, password: body.password };
}

/** A registered user enrolled as a developer (user.developer is set). */
export async function makeDeveloper(app: FastifyInstance, companyName = 'Test Studio'): Promise<TestUser> {
  const u = await registerUser(app);
  const res = await app.inject({ method: 'POST', url: '/api/v1/me/developer', headers: bearer(u.token), payload: { companyName } });
  if (res.statusCode !== 201) throw new Error(`developer enrollment failed: ${res.statusCode} ${res.body}`);
  return { ...u, user: res.json() };
}

/** A registered user promoted to admin in the database (there is no public route for that). */
export async function makeAdmin(infra: TestInfra, app: FastifyInstance): Promise<TestUser> {
  const u = await registerUser(app, { displayName: 'Test Admin' });
  await infra.db.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [u.user.id]);
  // the token has not been used yet, so no cached principal still says 'user'
  return { ...u, user: { ...u.user, role: 'admin' } };
}
