// STUB — replaced by the bus implementation.
import type { Bus } from './index.ts';
import type { Db } from '../db/index.ts';
import type { Logger } from '../observability/logger.ts';
import { createInProcessBus } from './inprocess.ts';
export function createRabbitBus(o: { db: Db; url: string; namespace: string; logger: Logger; deleteTopologyOnStop?: boolean }): Bus {
  return { ...createInProcessBus(o), kind: 'rabbitmq' };
}
