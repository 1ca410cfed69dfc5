-- One primary-key lookup of a ~300-byte row per transaction: the database's
-- ceiling for a single-row read, to set against a read RPC (one query each).
-- Uses the table of pgbench-insert.sql, filled first (bench/run.sh does).
-- Run: pgbench -n -c 16 -j 2 -T 20 -D rows=N -f bench/pgbench-select.sql <scratch database>
\set id random(1, :rows)
SELECT id, payload, created_at FROM bench_insert WHERE id = :id;
