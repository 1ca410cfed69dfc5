CREATE TABLE regions (
	slug         text PRIMARY KEY,
	name_fi      text NOT NULL,
	name_sv      text NOT NULL DEFAULT '',
	name_en      text NOT NULL DEFAULT '',
	organiser_fi text NOT NULL DEFAULT '',
	organiser_sv text NOT NULL DEFAULT '',
	organiser_en text NOT NULL DEFAULT '',
	position     int NOT NULL DEFAULT 0
);

CREATE TABLE programmes (
	slug        text PRIMARY KEY,
	name_fi     text NOT NULL,
	name_sv     text NOT NULL DEFAULT '',
	name_en     text NOT NULL DEFAULT '',
	create_time timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE associations (
	id              uuid PRIMARY KEY,
	name_fi         text NOT NULL,
	name_sv         text NOT NULL DEFAULT '',
	name_en         text NOT NULL DEFAULT '',
	business_id     text,
	register_number text NOT NULL DEFAULT '',
	umbrella        text NOT NULL DEFAULT '',
	municipalities  text[] NOT NULL DEFAULT '{}',
	website         text NOT NULL DEFAULT '',
	contact_email   text NOT NULL DEFAULT '',
	create_time     timestamptz NOT NULL,
	update_time     timestamptz NOT NULL,
	version         bigint NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX associations_business_id ON associations (business_id) WHERE business_id IS NOT NULL;
CREATE INDEX associations_municipalities ON associations USING gin (municipalities);

CREATE TABLE persons (
	id          uuid PRIMARY KEY,
	given_name  text NOT NULL,
	family_name text NOT NULL,
	email       text NOT NULL DEFAULT '',
	phone       text NOT NULL DEFAULT '',
	create_time timestamptz NOT NULL,
	update_time timestamptz NOT NULL,
	version     bigint NOT NULL DEFAULT 1
);

CREATE TABLE affiliations (
	person_id      uuid NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
	association_id uuid NOT NULL REFERENCES associations (id),
	PRIMARY KEY (person_id, association_id)
);
CREATE INDEX affiliations_association ON affiliations (association_id, person_id);

CREATE TABLE networks (
	id             uuid PRIMARY KEY,
	region         text NOT NULL REFERENCES regions (slug),
	programme      text NOT NULL REFERENCES programmes (slug),
	name_fi        text NOT NULL DEFAULT '',
	name_sv        text NOT NULL DEFAULT '',
	name_en        text NOT NULL DEFAULT '',
	description_fi text NOT NULL DEFAULT '',
	description_sv text NOT NULL DEFAULT '',
	description_en text NOT NULL DEFAULT '',
	max_leaders    int NOT NULL DEFAULT 2 CHECK (max_leaders BETWEEN 1 AND 20),
	create_time    timestamptz NOT NULL,
	update_time    timestamptz NOT NULL,
	version        bigint NOT NULL DEFAULT 1,
	CONSTRAINT networks_region_programme UNIQUE (region, programme)
);
CREATE INDEX networks_programme ON networks (programme, id);

CREATE TABLE memberships (
	id               uuid PRIMARY KEY,
	network_id       uuid NOT NULL REFERENCES networks (id),
	association_id   uuid NOT NULL REFERENCES associations (id),
	state            text NOT NULL CHECK (state IN ('PENDING', 'ACTIVE', 'REJECTED', 'LEFT', 'REMOVED')),
	application_note text NOT NULL DEFAULT '',
	decision_note    text NOT NULL DEFAULT '',
	apply_time       timestamptz NOT NULL,
	decide_time      timestamptz,
	end_time         timestamptz,
	create_time      timestamptz NOT NULL,
	update_time      timestamptz NOT NULL,
	version          bigint NOT NULL DEFAULT 1
);
-- One open (pending or active) membership per association and network.
CREATE UNIQUE INDEX memberships_open ON memberships (network_id, association_id) WHERE state IN ('PENDING', 'ACTIVE');
CREATE INDEX memberships_network ON memberships (network_id, id);
CREATE INDEX memberships_association ON memberships (association_id, id);

CREATE TABLE leaders (
	id              uuid PRIMARY KEY,
	network_id      uuid NOT NULL REFERENCES networks (id),
	person_id       uuid NOT NULL REFERENCES persons (id),
	association_id  uuid NOT NULL REFERENCES associations (id),
	state           text NOT NULL CHECK (state IN ('ACTIVE', 'ENDED')),
	term_start_time timestamptz NOT NULL,
	term_end_time   timestamptz,
	end_time        timestamptz,
	create_time     timestamptz NOT NULL,
	update_time     timestamptz NOT NULL,
	version         bigint NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX leaders_active_person ON leaders (network_id, person_id) WHERE state = 'ACTIVE';
CREATE INDEX leaders_network ON leaders (network_id, id);
CREATE INDEX leaders_person ON leaders (person_id, id);
