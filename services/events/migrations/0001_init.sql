-- Events held by a programme of a region, a network or an association. The
-- organiser's region and programme are copied here: this schema reads no
-- other service's tables.
CREATE TABLE events (
	id                         uuid PRIMARY KEY,
	organiser_kind             text NOT NULL CHECK (organiser_kind IN ('PROGRAMME', 'NETWORK', 'ASSOCIATION')),
	region                     text NOT NULL,
	programme                  text NOT NULL DEFAULT '',
	network_id                 uuid,
	association_id             uuid,
	title_fi                   text NOT NULL,
	title_sv                   text NOT NULL DEFAULT '',
	title_en                   text NOT NULL DEFAULT '',
	description_fi             text NOT NULL DEFAULT '',
	description_sv             text NOT NULL DEFAULT '',
	description_en             text NOT NULL DEFAULT '',
	kind                       text NOT NULL CHECK (kind IN ('SEMINAR', 'TRAINING', 'WORKSHOP', 'NETWORK_MEETING', 'OTHER')),
	start_time                 timestamptz NOT NULL,
	end_time                   timestamptz NOT NULL,
	address                    text NOT NULL DEFAULT '',
	municipality               text NOT NULL DEFAULT '',
	online_url                 text NOT NULL DEFAULT '',
	audiences                  text[] NOT NULL,
	capacity                   int NOT NULL DEFAULT 0 CHECK (capacity >= 0),
	registration_open_time     timestamptz,
	registration_deadline_time timestamptz,
	price_cents                bigint NOT NULL DEFAULT 0 CHECK (price_cents >= 0),
	currency                   text NOT NULL DEFAULT 'EUR',
	state                      text NOT NULL CHECK (state IN ('DRAFT', 'PUBLISHED', 'CANCELLED', 'COMPLETED')),
	sequence                   int NOT NULL DEFAULT 0,
	cancel_reason              text NOT NULL DEFAULT '',
	publish_time               timestamptz,
	cancel_time                timestamptz,
	complete_time              timestamptz,
	create_time                timestamptz NOT NULL,
	update_time                timestamptz NOT NULL,
	version                    bigint NOT NULL DEFAULT 1,
	CONSTRAINT events_time CHECK (end_time > start_time),
	CONSTRAINT events_organiser CHECK (
		(organiser_kind = 'PROGRAMME' AND programme <> '' AND network_id IS NULL AND association_id IS NULL) OR
		(organiser_kind = 'NETWORK' AND programme <> '' AND network_id IS NOT NULL AND association_id IS NULL) OR
		(organiser_kind = 'ASSOCIATION' AND network_id IS NULL AND association_id IS NOT NULL))
);
CREATE INDEX events_start ON events (start_time, id);
CREATE INDEX events_region ON events (region, programme, start_time);
CREATE INDEX events_network ON events (network_id, start_time) WHERE network_id IS NOT NULL;
CREATE INDEX events_association ON events (association_id, start_time) WHERE association_id IS NOT NULL;

-- Registrations, in registration order (seq). A registration has a person,
-- or (registered by name) an email. Waitlist positions are not stored: a
-- registration's position is its rank among the event's waitlisted ones by
-- seq, so positions are always contiguous.
CREATE TABLE registrations (
	id                      uuid PRIMARY KEY,
	event_id                uuid NOT NULL REFERENCES events (id),
	seq                     bigserial NOT NULL UNIQUE,
	state                   text NOT NULL CHECK (state IN ('CONFIRMED', 'WAITLISTED', 'CANCELLED')),
	person_id               uuid,
	display_name            text NOT NULL,
	email                   text,
	organisation            text NOT NULL DEFAULT '',
	dietary_needs           text NOT NULL DEFAULT '',
	accessibility_needs     text NOT NULL DEFAULT '',
	association_id          uuid,
	public                  boolean NOT NULL DEFAULT false,
	registered_by           text NOT NULL,
	cancellation_token_hash bytea,
	register_time           timestamptz NOT NULL,
	promote_time            timestamptz,
	cancel_time             timestamptz,
	update_time             timestamptz NOT NULL,
	version                 bigint NOT NULL DEFAULT 1,
	CONSTRAINT registrations_registrant CHECK ((person_id IS NULL) <> (email IS NULL))
);
-- One live registration per person, or per email, and event.
CREATE UNIQUE INDEX registrations_person_once ON registrations (event_id, person_id)
	WHERE state <> 'CANCELLED' AND person_id IS NOT NULL;
CREATE UNIQUE INDEX registrations_email_once ON registrations (event_id, lower(email))
	WHERE state <> 'CANCELLED' AND email IS NOT NULL;
CREATE INDEX registrations_event ON registrations (event_id, state, seq);
CREATE INDEX registrations_person ON registrations (person_id, seq) WHERE person_id IS NOT NULL;
