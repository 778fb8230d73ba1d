// Attested installs for engagement tests: a user gets the app (written as the purchase endpoint writes it) and
// asks the library for download links; each answer's installToken is one install the SDK may report sessions of.
import type { FastifyInstance } from 'fastify';
import type { Queryable } from '../../src/platform/db/index.ts';
import { registerUser } from './app.ts';
import { ok, type Send } from './catalog.ts';
import { grantApp } from './library.ts';

/** The installToken of one real download: POST /apps/:id/download by `userToken` (who must own the app). */
export async function downloadInstallToken(send: Send, userToken: string, appId: string): Promise<string> {
  const link = ok(await send('POST', `/apps/${appId}/download`, { token: userToken }));
  if (typeof link.installToken !== 'string') throw new Error(`no installToken in ${JSON.stringify(link)}`);
  return link.installToken;
}

/** `n` installs of a published app: a new user gets it, then downloads it n times (one download, one install). */
export async function installTokens(app: FastifyInstance, db: Queryable, send: Send, appId: string, n = 1): Promise<string[]> {
  const user = await registerUser(app, { displayName: 'Installing User' });
  await grantApp(db, user.user.id, appId);
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) tokens.push(await downloadInstallToken(send, user.token, appId));
  return tokens;
}
