-- App Store Server API: developers' API keys. Only the public key is stored; the private key is shown once.
-- Like App Store Connect, every developer has one issuer id, shared by all their keys.
CREATE TABLE api_issuers (
  developer_id uuid PRIMARY KEY REFERENCES developers(id),
  issuer_id uuid NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  key_id text PRIMARY KEY,                  -- the JWT header's kid: 10 characters, like Apple's
  developer_id uuid NOT NULL REFERENCES api_issuers(developer_id),
  public_key text NOT NULL,                 -- SPKI PEM, P-256
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX api_keys_of_developer ON api_keys (developer_id, created_at DESC);
