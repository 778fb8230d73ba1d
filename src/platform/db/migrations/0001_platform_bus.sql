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

-- A consumer's effect and its record of the event commit together: redelivery is harmless.
CREATE TABLE IF NOT EXISTS processed_events (
  consumer text NOT NULL,
  event_id uuid NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);

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
