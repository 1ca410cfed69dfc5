-- Representation requests: a body asks one network for representatives.
-- Region and programme are the requester's (the working group's, or the
-- region × programme whose coordinator records an outside body's request);
-- the network's region and programme come from the networks projection.
CREATE TABLE representation_requests (
	id                   uuid PRIMARY KEY,
	working_group_id     uuid,
	body_name_fi         text NOT NULL,
	body_name_sv         text NOT NULL DEFAULT '',
	body_name_en         text NOT NULL DEFAULT '',
	region               text NOT NULL,
	programme            text NOT NULL,
	network_id           uuid NOT NULL,
	network_region       text NOT NULL,
	network_programme    text NOT NULL,
	seats                int NOT NULL CHECK (seats BETWEEN 1 AND 100),
	with_deputies        boolean NOT NULL,
	description_fi       text NOT NULL,
	description_sv       text NOT NULL DEFAULT '',
	description_en       text NOT NULL DEFAULT '',
	nomination_deadline  timestamptz NOT NULL,
	term_start           timestamptz NOT NULL,
	term_end             timestamptz NOT NULL,
	state                text NOT NULL CHECK (state IN ('OPEN', 'FILLED', 'CLOSED', 'CANCELLED')),
	state_time           timestamptz,
	cancel_reason        text NOT NULL DEFAULT '',
	create_time          timestamptz NOT NULL,
	update_time          timestamptz NOT NULL,
	version              bigint NOT NULL DEFAULT 1,
	CHECK (term_end > term_start),
	CHECK (term_end > nomination_deadline)
);
CREATE INDEX representation_requests_network ON representation_requests (network_id, state, id);
CREATE INDEX representation_requests_working_group ON representation_requests (working_group_id, id) WHERE working_group_id IS NOT NULL;
CREATE INDEX representation_requests_scope ON representation_requests (region, programme, id);
CREATE INDEX representation_requests_deadline ON representation_requests (nomination_deadline) WHERE state = 'OPEN';

-- Nominations: a person proposed for a seat (or a seat's deputy) of a request.
CREATE TABLE nominations (
	id                      uuid PRIMARY KEY,
	request_id              uuid NOT NULL REFERENCES representation_requests (id),
	-- 0 until confirmed when nominated for whichever seat is free.
	seat                    int NOT NULL CHECK (seat >= 0),
	deputy                  boolean NOT NULL,
	person_id               uuid NOT NULL,
	person_display_name     text NOT NULL,
	association_id          uuid NOT NULL,
	state                   text NOT NULL CHECK (state IN ('PROPOSED', 'ACCEPTED', 'DECLINED', 'CONFIRMED', 'REJECTED', 'WITHDRAWN', 'ENDED')),
	-- The term on the seat, set at confirmation.
	term_start              timestamptz,
	term_end                timestamptz,
	end_time                timestamptz,
	end_reason              text NOT NULL DEFAULT '' CHECK (end_reason IN ('', 'TERM_ENDED', 'RESIGNED', 'REPLACED', 'REQUEST_CANCELLED')),
	nominated_by            uuid NOT NULL,
	note                    text NOT NULL DEFAULT '',
	decision_note           text NOT NULL DEFAULT '',
	consent_time            timestamptz,
	decision_time           timestamptz,
	term_ending_notice_time timestamptz,
	create_time             timestamptz NOT NULL,
	update_time             timestamptz NOT NULL,
	version                 bigint NOT NULL DEFAULT 1,
	CHECK (state NOT IN ('CONFIRMED', 'ENDED') OR (seat > 0 AND term_start IS NOT NULL AND term_end IS NOT NULL)),
	CHECK ((state = 'ENDED') = (end_time IS NOT NULL AND end_reason <> ''))
);
-- At most one confirmed member and one confirmed deputy per seat, whatever
-- the concurrency (confirmations also lock the request row).
CREATE UNIQUE INDEX nominations_seat_holder ON nominations (request_id, seat, deputy) WHERE state = 'CONFIRMED';
-- A person is nominated at most once per request at a time: pending or
-- holding a seat.
CREATE UNIQUE INDEX nominations_person_once ON nominations (request_id, person_id)
	WHERE state IN ('PROPOSED', 'ACCEPTED', 'CONFIRMED');
CREATE INDEX nominations_request ON nominations (request_id, id);
CREATE INDEX nominations_person ON nominations (person_id, id);
CREATE INDEX nominations_association ON nominations (association_id, id);
CREATE INDEX nominations_confirmed_term ON nominations (term_end) WHERE state = 'CONFIRMED';

-- What happened to a request and its nominations, and who did it.
CREATE TABLE history (
	id              uuid PRIMARY KEY,
	request_id      uuid NOT NULL REFERENCES representation_requests (id),
	nomination_id   uuid REFERENCES nominations (id),
	kind            text NOT NULL,
	change          text NOT NULL,
	from_state      text NOT NULL DEFAULT '',
	to_state        text NOT NULL,
	time            timestamptz NOT NULL,
	actor_id        text NOT NULL,
	actor_name      text NOT NULL DEFAULT '',
	actor_person_id text NOT NULL DEFAULT '',
	note            text NOT NULL DEFAULT ''
);
CREATE INDEX history_request ON history (request_id, id);
CREATE INDEX history_nomination ON history (nomination_id, id) WHERE nomination_id IS NOT NULL;

-- The networks projection: what the networks service published about
-- networks, memberships, leaders and persons, one row per aggregate at its
-- newest version seen (a change whose aggregate version is not newer than
-- the row's is ignored, so redeliveries and replays change nothing).
CREATE TABLE projected_networks (
	id          uuid PRIMARY KEY,
	region      text NOT NULL,
	programme   text NOT NULL,
	name_fi     text NOT NULL DEFAULT '',
	version     bigint NOT NULL,
	change_id   text NOT NULL,
	update_time timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projected_memberships (
	id             uuid PRIMARY KEY,
	network_id     uuid NOT NULL,
	association_id uuid NOT NULL,
	state          text NOT NULL,
	version        bigint NOT NULL,
	change_id      text NOT NULL,
	update_time    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projected_memberships_active ON projected_memberships (network_id, association_id) WHERE state = 'ACTIVE';

CREATE TABLE projected_leaders (
	id             uuid PRIMARY KEY,
	network_id     uuid NOT NULL,
	person_id      uuid NOT NULL,
	association_id uuid NOT NULL,
	state          text NOT NULL,
	version        bigint NOT NULL,
	change_id      text NOT NULL,
	update_time    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projected_leaders_active ON projected_leaders (network_id, person_id) WHERE state = 'ACTIVE';

CREATE TABLE projected_persons (
	id              uuid PRIMARY KEY,
	display_name    text NOT NULL,
	association_ids uuid[] NOT NULL DEFAULT '{}',
	version         bigint NOT NULL,
	change_id       text NOT NULL,
	update_time     timestamptz NOT NULL DEFAULT now()
);

-- Active memberships (network × association) and current leaders (network ×
-- person), as the rules read them.
CREATE VIEW active_memberships AS
	SELECT DISTINCT network_id, association_id FROM projected_memberships WHERE state = 'ACTIVE';
CREATE VIEW current_leaders AS
	SELECT DISTINCT network_id, person_id FROM projected_leaders WHERE state = 'ACTIVE';
