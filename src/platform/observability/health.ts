// Health of a process beyond "it answers": the bus (relay, outbox backlog, consumers) as Prometheus gauges
// and as a detailed view. Reading it costs a few queries, so one reading serves every caller for a while.
import { Gauge } from 'prom-client';
import type { Bus, BusHealth } from '../bus/index.ts';
import type { Metrics } from './metrics.ts';

const FRESH_MS = 5_000;

const perRegistry = new WeakMap<Metrics, ReturnType<typeof create>>();

/** One per metrics registry (tests build several apps over one infra). */
export function busHealth(bus: Bus, metrics: Metrics) {
  let h = perRegistry.get(metrics);
  if (!h) perRegistry.set(metrics, (h = create(bus, metrics)));
  return h;
}

function create(bus: Bus, metrics: Metrics) {
  let last: { at: number; value: Promise<BusHealth> } | null = null;
  const read = (): Promise<BusHealth> => {
    if (!last || Date.now() - last.at > FRESH_MS) {
      const value = bus.health();
      last = { at: Date.now(), value };
      value.catch(() => (last = null)); // a failed reading is not kept
    }
    return last.value;
  };

  const registers = [metrics.registry];
  const gauge = (name: string, help: string, labelNames: string[], set: (g: Gauge<string>, h: BusHealth) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        this.reset();
        const h = await read().catch(() => null);
        if (h) set(this, h);
      },
    });
  gauge('orchard_bus_connected', '1 when this process is connected to the broker (always 1 embedded)', [], (g, h) =>
    g.set(h.transport === 'connected' ? 1 : 0),
  );
  gauge('orchard_outbox_unpublished', 'Outbox rows not yet handed to the broker', [], (g, h) => g.set(h.outbox.unpublished));
  gauge('orchard_outbox_oldest_unpublished_seconds', 'Age of the oldest outbox row not yet handed to the broker (0: none)', [], (g, h) =>
    g.set(h.outbox.oldestUnpublishedSeconds ?? 0),
  );
  gauge('orchard_relay_consecutive_failures', 'Outbox relay batches failed in a row in this process (0: relaying)', [], (g, h) =>
    g.set(h.relay?.failures ?? 0),
  );
  gauge('orchard_bus_consumers_attached', 'Processes consuming each durable queue', ['consumer'], (g, h) => {
    for (const c of h.consumers) if (c.attached !== null) g.set({ consumer: c.consumer }, c.attached);
  });
  gauge('orchard_bus_events_waiting', 'Events delivered to each durable consumer and not yet applied', ['consumer'], (g, h) => {
    for (const c of h.consumers) if (c.waiting !== null) g.set({ consumer: c.consumer }, c.waiting);
  });
  gauge('orchard_bus_oldest_unprocessed_seconds', 'Age of the oldest published event each durable consumer has not applied (0: none)', ['consumer'], (g, h) => {
    for (const c of h.consumers) g.set({ consumer: c.consumer }, c.oldestUnprocessedSeconds ?? 0);
  });
  gauge('orchard_bus_dead_letters', 'Dead-lettered events waiting for a replay, per consumer', ['consumer'], (g, h) => {
    for (const c of h.consumers) if (c.deadLetters !== null) g.set({ consumer: c.consumer }, c.deadLetters);
  });
  return { read };
}

/** A gauge read at scrape time, registered once per registry. */
export function stateGauge(metrics: Metrics, name: string, help: string, value: () => number): void {
  if (metrics.registry.getSingleMetric(name)) return;
  new Gauge({
    name,
    help,
    registers: [metrics.registry],
    collect() {
      this.set(value());
    },
  });
}
