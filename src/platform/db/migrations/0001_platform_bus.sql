-- Transactional outbox: written in the same transaction as the state change it describes.
CREATE TABLE IF NOT EXISTS outbox (
  id uuid PRIMARY KEY,
  type text NOT NULL,
  aggregate_id text,
  payload jsonb NOT NULL,
  occurred_at timestamptz NOT NULL,
  published_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
-- Retention: published rows are deleted after a while.
CREATE INDEX IF NOT EXISTS outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;

-- A consumer's effect and its record of the event commit together: redelivery is harmless.
CREATE TABLE IF NOT EXISTS processed_events (
  consumer text NOT NULL,
  event_id uuid NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
CREATE INDEX IF NOT EXISTS processed_events_age ON processed_events (processed_at);

-- Durable consumers of the deployment and the event types each takes (what RabbitMQ queue bindings
-- are to the production bus). The embedded relay fans events out from it; both buses find their
-- dead-letter queues through it.
CREATE TABLE IF NOT EXISTS bus_consumers (
  consumer text PRIMARY KEY,
  types text[] NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Embedded bus: one row per (consumer, event) still to apply, written in the relay's transaction.
-- It carries the retry state, so a pending retry survives a crash or restart.
CREATE TABLE IF NOT EXISTS bus_deliveries (
  consumer text NOT NULL,
  event_id uuid NOT NULL,
  event jsonb NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error text,
  PRIMARY KEY (consumer, event_id)
);
CREATE INDEX IF NOT EXISTS bus_deliveries_due ON bus_deliveries (next_attempt_at);

-- Dead letters of the embedded bus (RabbitMQ keeps its own in dead-letter queues).
CREATE TABLE IF NOT EXISTS dead_letters (
  id uuid PRIMARY KEY,
  consumer text NOT NULL,
  event jsonb NOT NULL,
  error text NOT NULL,
  attempts int NOT NULL,
  failed_at timestamptz NOT NULL DEFAULT now(),
  replayed_at timestamptz
);
CREATE INDEX IF NOT EXISTS dead_letters_pending ON dead_letters (failed_at, id) WHERE replayed_at IS NULL;
