// PostgreSQL text cannot hold U+0000: a string containing it fails the whole statement. So no request may
// carry one to a service. One preValidation hook refuses it in any string of a JSON body (object keys too),
// the query string and the path parameters, for every route, before the route's own validation.
// Raw bodies (uploads, parsed as streams or buffers) are never looked at: binaries are full of zero bytes.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from './errors.ts';

const NUL = '\u0000';

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/** Parsed JSON only: strings, arrays and plain objects. Iterative, so any nesting depth is safe. */
function containsNul(value: unknown): boolean {
  const stack = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.includes(NUL)) return true;
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (isPlainObject(v)) {
      for (const key in v) {
        if (key.includes(NUL)) return true;
        stack.push(v[key]);
      }
    }
  }
  return false;
}

/** Where the first NUL is, as validation messages name fields ("body.prices.0.currency"); null when there is none. */
export function findNul(value: unknown, root: string): string | null {
  if (!containsNul(value)) return null; // the common case, without building any path
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes(NUL)) return path;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}.${i}`]);
    } else if (isPlainObject(v)) {
      const keys = Object.keys(v);
      for (const key of keys) if (key.includes(NUL)) return `${path}.${key.replaceAll(NUL, '\\u0000')}`;
      for (let i = keys.length - 1; i >= 0; i--) stack.push([v[keys[i]], `${path}.${keys[i]}`]);
    }
  }
  return null;
}

function nulIn(req: FastifyRequest): string | null {
  // A NUL in params or the query string can only arrive percent-encoded (or raw, from inject()): most requests skip both.
  if (req.url.includes('%00') || req.url.includes(NUL)) {
    // the router and the query parser make objects of their own classes: copy them into plain ones
    const found = findNul({ ...(req.params as object) }, 'params') ?? findNul({ ...(req.query as object) }, 'querystring');
    if (found) return found;
  }
  const body = req.body;
  return typeof body === 'string' || Array.isArray(body) || isPlainObject(body) ? findNul(body, 'body') : null;
}

export const invalidCharacter = (path: string) =>
  new AppError(400, 'INVALID_CHARACTER', `${path} must not contain the NUL character (U+0000)`, [
    { path, message: `${path} must not contain the NUL character (U+0000)` },
  ]);

/** Installs the hook on the root instance: it then runs for every route registered afterwards. */
export function installNulGuard(app: FastifyInstance) {
  app.addHook('preValidation', (req, _reply, done) => {
    const path = nulIn(req);
    done(path ? invalidCharacter(path) : undefined);
  });
}
