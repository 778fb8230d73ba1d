// Payout periods: UTC calendar months, written YYYY-MM.

/** Years 2000-9999: anything earlier predates the store (and year 0 is not a PostgreSQL date). */
export const PERIOD_PATTERN = '^[2-9][0-9]{3}-(0[1-9]|1[0-2])$';
const PERIOD = new RegExp(PERIOD_PATTERN);

export const isPeriod = (value: string): boolean => PERIOD.test(value);

/** The period an instant falls in. */
export const periodOf = (at: Date): string => at.toISOString().slice(0, 7);

export const periodStart = (period: string): Date => new Date(`${period}-01T00:00:00.000Z`);

export function nextPeriod(period: string): string {
  const [year, month] = period.split('-').map(Number);
  return month === 12 ? `${year + 1}-01` : `${year}-${String(month + 1).padStart(2, '0')}`;
}

/** The first instant after the period. */
export const periodEnd = (period: string): Date => periodStart(nextPeriod(period));
