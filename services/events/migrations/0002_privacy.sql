-- Registrations of past events are pseudonymised after the retention, and
-- an erased person's registrations at once: then neither a person nor an
-- email identifies the registrant.
ALTER TABLE registrations ADD COLUMN pseudonymise_time timestamptz;
ALTER TABLE registrations DROP CONSTRAINT registrations_registrant;
ALTER TABLE registrations ADD CONSTRAINT registrations_registrant
	CHECK (pseudonymise_time IS NOT NULL OR (person_id IS NULL) <> (email IS NULL));
CREATE INDEX registrations_unpseudonymised ON registrations (event_id) WHERE pseudonymise_time IS NULL;
