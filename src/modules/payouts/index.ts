// Payouts: monthly payment of developer proceeds from the ledger, statements and balances.
// Other modules import only this file.
//
// Owns: payouts (its migration 0450; databases from before tables had owners made it in purchases' 0400).
// Publishes (events.ts): payout.created. Consumes nothing. Reads: purchases_ledger_lines,
// purchases_transactions; marks lines paid only through purchases' claimPayableLines.
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Guards } from '../../platform/http/auth.ts';
import { payoutsRoutes } from './routes.ts';
import { PayoutsService, type PayoutsDeps } from './service.ts';

export const payoutsMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');

export { PayoutsService, type Balance, type CloseSummary, type Payout, type Statement } from './service.ts';
export type { PayoutCreatedPayload, PayoutsEvents } from './events.ts';
export { isPeriod } from './periods.ts';

export function createPayouts(deps: PayoutsDeps) {
  const service = new PayoutsService(deps);
  const routes: FastifyPluginAsync<{ guards: Guards }> = payoutsRoutes(service);
  return { name: 'payouts', migrations: payoutsMigrations, routes, service };
}
export type Payouts = ReturnType<typeof createPayouts>;
