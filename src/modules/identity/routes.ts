import { createHash } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Cache } from '../../platform/cache/index.ts';
import { notFound } from '../../platform/errors.ts';
import { errorSchema } from '../../platform/http/errors.ts';
import { principalOf, type Guards } from '../../platform/http/auth.ts';
import { hit, limitByIp, type Limit } from '../../platform/http/rate-limit.ts';
import { checkFailures, clearFailures, countFailure, type FailureLimit } from '../../platform/http/failure-limit.ts';
import { IdentityError, STOREFRONT_COUNTRIES, type ClientInfo, type IdentityService } from './service.ts';

export interface IdentityLimits {
  /** Sign-in attempts from one address, whatever the accounts. */
  loginPerIp: Limit;
  /**
   * Failed sign-ins on one account from one address: blocks only that pair, so a stranger who knows
   * an email cannot lock its owner out. A success from that address clears it.
   */
  loginPerAccountAndIp: Limit;
  /** Failed sign-ins on one account from every address: a ceiling for guessing spread over many addresses. */
  loginPerAccount: Limit;
  registerPerIp: Limit;
  /** Guesses of currentPassword with a (possibly stolen) session. */
  passwordChangePerUser: Limit;
}

export const DEFAULT_LIMITS: IdentityLimits = {
  loginPerIp: { name: 'login', max: 10, windowMs: 60_000 },
  loginPerAccountAndIp: { name: 'login-account-ip', max: 5, windowMs: 15 * 60_000 },
  loginPerAccount: { name: 'login-account', max: 50, windowMs: 60 * 60_000 },
  registerPerIp: { name: 'registration', max: 10, windowMs: 60 * 60_000 },
  passwordChangePerUser: { name: 'password-change', max: 5, windowMs: 15 * 60_000 },
};

const pairLimit = (limit: Limit): FailureLimit => ({
  ...limit,
  message: (s) => `Too many failed sign-ins to this account from your address; retry in ${s} s.`,
});
const accountLimit = (limit: Limit): FailureLimit => ({
  ...limit,
  message: (s) => `This account had too many failed sign-ins from many addresses; signing in to it is paused for ${s} s.`,
});

const Email = Type.String({ format: 'email', maxLength: 254 });
const NewPassword = Type.String({ minLength: 10, maxLength: 256 });
const Timestamp = Type.String({ format: 'date-time' });

const Developer = Type.Object({
  id: Type.String({ format: 'uuid' }),
  companyName: Type.String(),
  website: Type.Union([Type.String(), Type.Null()]),
  verified: Type.Boolean(),
  createdAt: Timestamp,
});
const User = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  displayName: Type.String(),
  role: Type.Enum(['user', 'developer', 'admin']),
  country: Type.String({ description: 'ISO 3166-1 alpha-2 storefront' }),
  createdAt: Timestamp,
  developer: Type.Union([Developer, Type.Null()]),
});
const Session = Type.Object({
  token: Type.String({ description: 'Send as Authorization: Bearer <token>' }),
  expiresAt: Timestamp,
});
const UserAndSession = Type.Object({ user: User, session: Session });

const errors = { '4xx': errorSchema };
const tags = ['identity'];
const security = [{ session: [] }];

// The user agent is kept with the session: without control characters (a NUL would fail the insert)
const clientOf = (req: FastifyRequest): ClientInfo => ({ ip: req.ip, userAgent: req.headers['user-agent']?.replace(/[\u0000-\u001f\u007f]/g, '') });
// Rate-limit subject for an email: hashed, so the cache holds no addresses.
const accountOf = (email: string) => createHash('sha256').update(email.trim().toLowerCase()).digest('base64url').slice(0, 22);

export function identityRoutes(service: IdentityService, cache: Cache, limits: IdentityLimits): FastifyPluginAsync<{ guards: Guards }> {
  const perPair = pairLimit(limits.loginPerAccountAndIp);
  const perAccount = accountLimit(limits.loginPerAccount);
  return async (root, { guards }) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    app.addHook('onSend', async (_req, reply) => {
      reply.header('cache-control', 'no-store'); // tokens and personal data
    });

    app.post(
      '/auth/register',
      {
        preHandler: limitByIp(cache, limits.registerPerIp),
        schema: {
          tags,
          summary: 'Create an account and sign in',
          body: Type.Object(
            {
              email: Email,
              password: NewPassword,
              displayName: Type.String({ minLength: 1, maxLength: 100 }),
              country: Type.Optional(Type.Enum(STOREFRONT_COUNTRIES, { description: 'Storefront; US when omitted' })),
            },
            { additionalProperties: false },
          ),
          response: { 201: UserAndSession, ...errors },
        },
      },
      async (req, reply) => reply.code(201).send(await service.register(req.body, clientOf(req))),
    );

    app.post(
      '/auth/login',
      {
        preHandler: limitByIp(cache, limits.loginPerIp),
        schema: {
          tags,
          summary: 'Sign in with email and password',
          body: Type.Object(
            { email: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 256 }) },
            { additionalProperties: false },
          ),
          response: { 200: UserAndSession, ...errors },
        },
      },
      async (req) => {
        const account = accountOf(req.body.email);
        const pair = `${account}:${req.ip}`;
        await checkFailures(cache, perPair, pair);
        await checkFailures(cache, perAccount, account);
        try {
          const result = await service.login(req.body.email, req.body.password, clientOf(req));
          // Only the pair is cleared: a success must not reset the ceiling that guesses from other addresses count towards.
          await clearFailures(cache, perPair, pair);
          return result;
        } catch (err) {
          if (err instanceof IdentityError && err.code === 'INVALID_CREDENTIALS') {
            await Promise.all([countFailure(cache, perPair, pair), countFailure(cache, perAccount, account)]);
          }
          throw err;
        }
      },
    );

    app.post(
      '/auth/logout',
      {
        preHandler: guards.user,
        schema: { tags, security, summary: 'Revoke the current session', response: { 204: Type.Null(), ...errors } },
      },
      async (req, reply) => {
        await service.logout(principalOf(req).sessionId);
        return reply.code(204).send(null);
      },
    );

    app.get('/me', { preHandler: guards.user, schema: { tags, security, summary: 'The signed-in user', response: { 200: User, ...errors } } }, async (req) => {
      const user = await service.getUser(principalOf(req).userId);
      if (!user) throw notFound('User');
      return user;
    });

    app.post(
      '/me/password',
      {
        preHandler: guards.user,
        schema: {
          tags,
          security,
          summary: 'Change the password; signs out every session and returns a new one',
          body: Type.Object({ currentPassword: Type.String({ maxLength: 256 }), newPassword: NewPassword }, { additionalProperties: false }),
          response: { 200: Type.Object({ session: Session }), ...errors },
        },
      },
      async (req) => {
        const { userId } = principalOf(req);
        await hit(cache, limits.passwordChangePerUser, userId);
        return { session: await service.changePassword(userId, req.body.currentPassword, req.body.newPassword, clientOf(req)) };
      },
    );

    app.post(
      '/me/developer',
      {
        preHandler: guards.user,
        schema: {
          tags,
          security,
          summary: 'Enroll as a developer',
          body: Type.Object(
            {
              companyName: Type.String({ minLength: 1, maxLength: 100 }),
              website: Type.Optional(Type.String({ format: 'uri', pattern: '^https://', maxLength: 2048 })),
            },
            { additionalProperties: false },
          ),
          response: { 201: User, ...errors },
        },
      },
      async (req, reply) => reply.code(201).send(await service.enrollDeveloper(principalOf(req).userId, req.body)),
    );
  };
}
