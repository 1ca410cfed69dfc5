-- Working groups (työryhmät) and sub-working groups (alatyöryhmät). Region
-- and programme are slugs owned by the networks service; they are checked
-- syntactically here, not against its tables.
CREATE TABLE working_groups (
	id                       uuid PRIMARY KEY,
	region                   text NOT NULL,
	programme                text NOT NULL,
	municipality             text NOT NULL DEFAULT '',
	parent_id                uuid REFERENCES working_groups (id),
	name_fi                  text NOT NULL,
	name_sv                  text NOT NULL DEFAULT '',
	name_en                  text NOT NULL DEFAULT '',
	mandate_fi               text NOT NULL,
	mandate_sv               text NOT NULL DEFAULT '',
	mandate_en               text NOT NULL DEFAULT '',
	start_date               date NOT NULL,
	end_date                 date,
	coordinator_person_id    uuid NOT NULL,
	coordinator_display_name text NOT NULL DEFAULT '',
	state                    text NOT NULL CHECK (state IN ('ACTIVE', 'CLOSED')),
	close_time               timestamptz,
	create_time              timestamptz NOT NULL,
	update_time              timestamptz NOT NULL,
	version                  bigint NOT NULL DEFAULT 1,
	CHECK (parent_id IS NULL OR parent_id <> id),
	CHECK (end_date IS NULL OR end_date >= start_date),
	CHECK ((state = 'CLOSED') = (close_time IS NOT NULL))
);
CREATE INDEX working_groups_scope ON working_groups (region, programme, id);
CREATE INDEX working_groups_parent ON working_groups (parent_id, id) WHERE parent_id IS NOT NULL;

-- Seats a working group reserves for the nominated representatives of a network.
CREATE TABLE seat_allocations (
	working_group_id uuid NOT NULL REFERENCES working_groups (id),
	network_id       uuid NOT NULL,
	seats            int NOT NULL CHECK (seats BETWEEN 1 AND 100),
	with_deputies    boolean NOT NULL,
	create_time      timestamptz NOT NULL,
	update_time      timestamptz NOT NULL,
	PRIMARY KEY (working_group_id, network_id)
);

CREATE TABLE members (
	id                    uuid PRIMARY KEY,
	working_group_id      uuid NOT NULL REFERENCES working_groups (id),
	person_id             uuid NOT NULL,
	person_display_name   text NOT NULL DEFAULT '',
	role                  text NOT NULL CHECK (role IN ('CHAIR', 'SECRETARY', 'MEMBER', 'EXPERT', 'EXPERIENCE_EXPERT')),
	-- Whom the member represents: at most one of these.
	association_id        uuid,
	network_id            uuid,
	organisation          text,
	term_start_time       timestamptz NOT NULL,
	term_end_time         timestamptz,
	deputy                boolean NOT NULL DEFAULT false,
	deputy_of             uuid REFERENCES members (id),
	state                 text NOT NULL CHECK (state IN ('ACTIVE', 'ENDED')),
	end_time              timestamptz,
	source                text NOT NULL CHECK (source IN ('DIRECT', 'NOMINATION')),
	-- For source NOMINATION: the nomination, its request and seat, and the
	-- network whose seat allocation the member fills.
	nomination_id         text,
	nomination_request_id text NOT NULL DEFAULT '',
	nomination_seat       int NOT NULL DEFAULT 0,
	seat_network_id       uuid,
	create_time           timestamptz NOT NULL,
	update_time           timestamptz NOT NULL,
	version               bigint NOT NULL DEFAULT 1,
	CHECK (num_nonnulls(association_id, network_id, organisation) <= 1),
	CHECK (deputy_of IS NULL OR deputy),
	CHECK ((source = 'NOMINATION') = (nomination_id IS NOT NULL))
);
-- At most one active chair per group, whatever the concurrency.
CREATE UNIQUE INDEX members_one_active_chair ON members (working_group_id) WHERE state = 'ACTIVE' AND role = 'CHAIR';
-- A person is at most once an active member of a group in the same role.
CREATE UNIQUE INDEX members_active_person_role ON members (working_group_id, person_id, role) WHERE state = 'ACTIVE';
-- A nomination makes at most one member.
CREATE UNIQUE INDEX members_nomination ON members (nomination_id) WHERE nomination_id IS NOT NULL;
CREATE INDEX members_group ON members (working_group_id, id);
CREATE INDEX members_active_person ON members (person_id, working_group_id) WHERE state = 'ACTIVE';
CREATE INDEX members_active_association ON members (association_id, working_group_id) WHERE state = 'ACTIVE' AND association_id IS NOT NULL;
CREATE INDEX members_seats ON members (working_group_id, seat_network_id) WHERE state = 'ACTIVE' AND seat_network_id IS NOT NULL;

-- Nominations that ended before their confirmation was processed here (a
-- redelivery out of order): a late confirmation of them adds no member.
CREATE TABLE ended_nominations (
	nomination_id text PRIMARY KEY,
	end_time      timestamptz NOT NULL
);
