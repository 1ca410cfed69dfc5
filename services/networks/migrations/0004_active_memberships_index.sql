-- Counting a network's active members (every read of a network) reads this
-- index alone instead of every open membership's row.
CREATE INDEX memberships_active ON memberships (network_id) WHERE state = 'ACTIVE';
