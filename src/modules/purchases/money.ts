// Pure money arithmetic: integer milliunits only.

/** Apple's rates: 30% commission, 15% on a subscription once its subscriber has a year of paid service. */
export const STANDARD_COMMISSION_PCT = 30;
export const RETAINED_SUBSCRIBER_COMMISSION_PCT = 15;

export interface Split {
  commissionMilli: number;
  proceedsMilli: number;
}

/** Commission rounded half up to the milliunit; the developer gets the rest, so the two always sum to the price. */
export function splitProceeds(priceMilli: number, commissionPct: number): Split {
  if (!Number.isSafeInteger(priceMilli) || priceMilli < 0) throw new RangeError(`price must be a non-negative integer of milliunits, got ${priceMilli}`);
  if (!Number.isInteger(commissionPct) || commissionPct < 0 || commissionPct > 100) throw new RangeError(`bad commission rate ${commissionPct}`);
  const commissionMilli = Math.floor((priceMilli * commissionPct + 50) / 100);
  return { commissionMilli, proceedsMilli: priceMilli - commissionMilli };
}

/** The three ledger lines of a charge (reversed, they are the lines of its refund): they sum to zero. */
export function chargeLines(priceMilli: number, commissionPct: number, sign: 1 | -1 = 1) {
  const { commissionMilli, proceedsMilli } = splitProceeds(priceMilli, commissionPct);
  return [
    { account: 'customer_payment', amountMilli: -sign * priceMilli },
    { account: 'developer_proceeds', amountMilli: sign * proceedsMilli },
    { account: 'store_commission', amountMilli: sign * commissionMilli },
  ] as const;
}
