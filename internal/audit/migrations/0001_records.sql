-- The audit trail: who called which RPC on which resource, and the outcome.
-- No values of personal data: ids only.
CREATE TABLE records (
	id             bigserial PRIMARY KEY,
	time           timestamptz NOT NULL,
	credential_id  text NOT NULL,
	principal_name text NOT NULL,
	procedure      text NOT NULL,
	resource_id    text NOT NULL DEFAULT '',
	region         text NOT NULL DEFAULT '',
	programme      text NOT NULL DEFAULT '',
	outcome        text NOT NULL,
	request_id     text NOT NULL
);
CREATE INDEX records_time ON records (time DESC, id DESC);
CREATE INDEX records_scope ON records (region, programme, id DESC);
CREATE INDEX records_resource ON records (resource_id, id DESC) WHERE resource_id <> '';
