// What payouts tells the others, through the outbox, in the transaction that creates each payout.
import { eventRecorder } from '../../platform/bus/index.ts';

export interface PayoutCreatedPayload {
  payoutId: string;
  developerId: string;
  period: string;
  currency: string;
  amountMilli: number;
}

export interface PayoutsEvents {
  /** aggregateId: the payout id. */
  'payout.created': PayoutCreatedPayload;
}

export const payoutsEvents = eventRecorder<PayoutsEvents>();
