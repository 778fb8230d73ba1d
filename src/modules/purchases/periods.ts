// Subscription periods (ISO 8601 durations as Apple uses them) and their arithmetic, in UTC.

export type SubscriptionPeriod = 'P1W' | 'P1M' | 'P2M' | 'P3M' | 'P6M' | 'P1Y';

const DAY_MS = 86_400_000;

/** The end of a period that starts at `start`. Months keep the day of month, clamped to the month's end (Jan 31 + P1M = Feb 28/29). */
export function addPeriod(start: Date, period: SubscriptionPeriod, times = 1): Date {
  if (period === 'P1W') return new Date(start.getTime() + 7 * DAY_MS * times);
  const months = { P1M: 1, P2M: 2, P3M: 3, P6M: 6, P1Y: 12 }[period] * times;
  const y = start.getUTCFullYear();
  const m = start.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  const d = new Date(start);
  d.setUTCFullYear(y, m, Math.min(start.getUTCDate(), lastDay));
  return d;
}

/** Billing retry after a failed renewal: Apple retries for up to 60 days; access continues during the grace period. */
export const GRACE_PERIOD_DAYS: Record<SubscriptionPeriod, number> = { P1W: 6, P1M: 16, P2M: 16, P3M: 16, P6M: 16, P1Y: 16 };
export const BILLING_RETRY_DAYS = 60;
/** Delay before the n-th retry (1-based): 1 h, 6 h, 1 d, then every 3 days. */
export function retryDelayMs(attempt: number): number {
  return [3_600_000, 6 * 3_600_000, DAY_MS][attempt - 1] ?? 3 * DAY_MS;
}
export const daysMs = (days: number) => days * DAY_MS;
