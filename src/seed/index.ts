// STUB — replaced by the seed implementation.
import type { Infra } from '../config.ts';
export const DEMO_ACCOUNTS = [
  { role: 'admin', email: 'admin@orchard.test', password: 'orchard-demo' },
  { role: 'developer', email: 'developer@orchard.test', password: 'orchard-demo' },
  { role: 'user', email: 'user@orchard.test', password: 'orchard-demo' },
] as const;
export async function seed(_o: { infra: Infra; apps: number; users: number; rngSeed?: number; onlyIfEmpty?: boolean; progress?: boolean }) {
  return null as null | { apps: number; users: number; seconds: number };
}
