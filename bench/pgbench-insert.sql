-- One ~300-byte row per transaction: the database's commit ceiling, to set
-- against Verkosto's write RPCs (one transaction each).
-- Table: CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
-- Run:   pgbench -n -c 16 -j 2 -T 20 -f bench/pgbench-insert.sql <scratch database>
INSERT INTO bench_insert (payload) VALUES (repeat(md5(random()::text), 9));
