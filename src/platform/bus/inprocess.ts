// STUB — replaced by the bus implementation.
import type { Bus } from './index.ts';
import type { Db } from '../db/index.ts';
import type { Logger } from '../observability/logger.ts';
export function createInProcessBus(_o: { db: Db; logger: Logger }): Bus {
  return {
    kind: 'inprocess', subscribe() {}, broadcast() {}, async start() {}, nudge() {}, async ping() {}, async stop() {},
    async listDeadLetters() { return []; }, async replayDeadLetters() { return 0; },
  };
}
