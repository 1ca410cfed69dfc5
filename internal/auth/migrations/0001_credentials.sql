-- Credentials are bearer tokens: personal access tokens and partner client
-- credentials. Only a SHA-256 hash of the secret is stored.
CREATE TABLE credentials (
	id          uuid PRIMARY KEY,
	name        text NOT NULL,
	kind        text NOT NULL CHECK (kind IN ('personal', 'partner')),
	secret_hash bytea NOT NULL UNIQUE,
	person_id   text NOT NULL DEFAULT '',
	bindings    jsonb NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	expires_at  timestamptz,
	revoked_at  timestamptz
);
