// Helpers of the catalog HTTP suites (test/catalog*.test.ts): requests, images, and an app taken through the workflow.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { bearer } from './app.ts';

/** Small upload limits for test apps, so that the 413 paths are cheap to reach. */
export const LIMITS = { bodyBytes: 1 << 20, iconBytes: 64 * 1024, screenshotBytes: 128 * 1024, binaryBytes: 1 << 20 };

/** A real 1x1 PNG, and bytes that start like a JPEG. */
export const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
export const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(64)]);

export type Send = (
  method: InjectOptions['method'],
  url: string,
  opts?: { token?: string; body?: unknown; headers?: Record<string, string> },
) => Promise<LightMyRequestResponse>;

/** JSON bodies as JSON; Buffers and strings as they are (set their content-type in headers). */
export function sender(app: FastifyInstance): Send {
  return (method, url, opts = {}) =>
    app.inject({
      method,
      url: url.startsWith('/api/') ? url : `/api/v1${url}`,
      headers: { ...(opts.token ? bearer(opts.token) : {}), ...opts.headers },
      ...(opts.body === undefined
        ? {}
        : Buffer.isBuffer(opts.body) || typeof opts.body === 'string'
          ? { payload: opts.body }
          : { payload: opts.body as object }),
    });
}

/** Asserts the status and the error shape; returns the error. */
export function expectError(res: LightMyRequestResponse, status: number, code?: string): { code: string; message: string; details?: unknown } {
  assert.equal(res.statusCode, status, `expected ${status}${code ? ` ${code}` : ''}, got ${res.statusCode}: ${res.body}`);
  const body = res.json();
  assert.equal(typeof body.error?.code, 'string', res.body);
  assert.equal(typeof body.error?.message, 'string', res.body);
  assert.ok(body.error.message.length > 0);
  if (code) assert.equal(body.error.code, code, res.body);
  return body.error;
}

export function ok(res: LightMyRequestResponse, status = 200) {
  assert.equal(res.statusCode, status, res.body);
  return res.body ? res.json() : undefined;
}

export const uniqueBundleId = (prefix = 'com.test') => `${prefix}.app${randomBytes(5).toString('hex')}`;

export interface AppInput {
  bundleId?: string;
  name?: string;
  category?: string;
  subcategory?: string | null;
  isFree?: boolean;
  [k: string]: unknown;
}

/** A draft app of this developer. */
export async function createDraft(send: Send, devToken: string, input: AppInput = {}): Promise<{ id: string; bundleId: string; revision: number }> {
  const body = { bundleId: uniqueBundleId(), name: 'Puzzle Quest', category: 'games', subcategory: 'games-puzzle', ...input };
  const app = ok(await send('POST', '/developer/apps', { token: devToken, body }), 201);
  return { id: app.id, bundleId: app.bundleId, revision: app.revision };
}

/** Icon, a version with a binary, prices when paid: everything a submission needs. Returns the version id. */
export async function prepareForReview(
  send: Send,
  devToken: string,
  appId: string,
  opts: { version?: string; permissions?: string[]; paid?: boolean } = {},
): Promise<string> {
  ok(await send('PUT', `/developer/apps/${appId}/icon`, { token: devToken, body: PNG, headers: { 'content-type': 'image/png' } }));
  const version = ok(
    await send('POST', `/developer/apps/${appId}/versions`, {
      token: devToken,
      body: { version: opts.version ?? '1.0', releaseNotes: 'First release', minOsVersion: '17.0', permissions: opts.permissions ?? [] },
    }),
    201,
  );
  ok(
    await send('PUT', `/developer/apps/${appId}/versions/${version.id}/binary`, {
      token: devToken,
      body: randomBytes(2048),
      headers: { 'content-type': 'application/octet-stream' },
    }),
  );
  if (opts.paid) {
    ok(
      await send('PUT', `/developer/apps/${appId}/prices`, {
        token: devToken,
        body: {
          prices: [
            { country: 'US', currency: 'USD', amountMilli: 990, tier: 1 },
            { country: 'DE', currency: 'EUR', amountMilli: 990 },
          ],
        },
      }),
    );
  }
  return version.id;
}

/** An app taken all the way: draft, assets, review, approval, publication. */
export async function publishApp(send: Send, devToken: string, adminToken: string, input: AppInput = {}): Promise<{ id: string; bundleId: string }> {
  const draft = await createDraft(send, devToken, input);
  await prepareForReview(send, devToken, draft.id, { paid: input.isFree === false });
  ok(await send('POST', `/developer/apps/${draft.id}/submit`, { token: devToken }));
  ok(await send('POST', `/admin/apps/${draft.id}/approve`, { token: adminToken }));
  ok(await send('POST', `/developer/apps/${draft.id}/publish`, { token: devToken }));
  return draft;
}
