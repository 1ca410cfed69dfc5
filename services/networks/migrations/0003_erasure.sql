-- Erased persons keep their id and history; their data is gone.
ALTER TABLE persons ADD COLUMN erase_time timestamptz;
