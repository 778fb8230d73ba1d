import type { FastifyReply, FastifyRequest } from 'fastify';
import { forbidden, unauthenticated } from '../errors.ts';

const SIGN_IN_FIRST = 'Sign in first: send Authorization: Bearer <session token>.';

export type Role = 'user' | 'developer' | 'admin';

export interface Principal {
  userId: string;
  role: Role;
  sessionId: string;
  developerId: string | null;
  /** The user's storefront (ISO 3166-1 alpha-2): what prices they see and pay. */
  country: string;
}

/** Implemented by the identity module; the platform only knows this port. */
export interface Authenticator {
  authenticate(token: string): Promise<Principal | null>;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export function bearerToken(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (!h) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  if (!m) throw unauthenticated('Authorization must be "Bearer <session token>".');
  return m[1];
}

export type Guard = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** preHandlers for routes: optional (principal or null), user (any signed-in), role(...) (one of these roles). */
export function createGuards(authenticator: Authenticator) {
  const resolve = async (req: FastifyRequest) => {
    const token = bearerToken(req);
    req.principal = token ? await authenticator.authenticate(token) : null;
    if (token && !req.principal) throw unauthenticated('The session token is invalid or has expired; sign in again.');
    return req.principal;
  };
  const optional: Guard = async (req) => {
    await resolve(req);
  };
  const user: Guard = async (req) => {
    if (!(await resolve(req))) throw unauthenticated(SIGN_IN_FIRST);
  };
  const role =
    (...roles: Role[]): Guard =>
    async (req) => {
      const p = await resolve(req);
      if (!p) throw unauthenticated(SIGN_IN_FIRST);
      // admins may do everything developers may
      if (!roles.includes(p.role) && !(p.role === 'admin' && roles.includes('developer'))) {
        throw forbidden('FORBIDDEN', `This needs the ${roles.join(' or ')} role.`);
      }
    };
  return { optional, user, role };
}
export type Guards = ReturnType<typeof createGuards>;

export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw unauthenticated(SIGN_IN_FIRST);
  return req.principal;
}
