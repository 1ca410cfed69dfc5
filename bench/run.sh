#!/usr/bin/env bash
# Verkosto's side-by-side performance run on one machine (docs/PERFORMANCE.md):
#   1. the ceilings: pgbench (one ~300-byte INSERT per transaction; one
#      primary-key SELECT per transaction) and a bare
#      Connect echo handler under wrk, plus the Go load generator's own ceiling;
#   2. Verkosto on the same PostgreSQL server pgbench used (DATABASE_URL), with
#      its embedded NATS: wrk on a read RPC, verkosto-load for peak writes,
#      writes at half that rate for commit-to-subscriber latency, a mixed run;
#   3. a summary with the ratios against the targets.
# Every measurement runs REPEAT times; the summary shows medians.
#
# Needs: go, psql, pgbench, wrk (apt-get install -y wrk postgresql-client
# postgresql-contrib), a PostgreSQL server at PGURL whose user may create
# databases. Environment knobs (defaults in brackets):
#   PGURL [postgres://postgres@127.0.0.1:5432]  REPEAT [2]  DURATION [20s]
#   MIXED_DURATION [30s]  CONCURRENCY [16]  ADDR [127.0.0.1:18480]
#   NATS_ADDR [127.0.0.1:14480]  ECHO_ADDR [127.0.0.1:18099]  KEEP [0: drop the scratch databases]
set -euo pipefail
cd "$(dirname "$0")/.."

PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
REPEAT=${REPEAT:-2}
DURATION=${DURATION:-20s}
MIXED_DURATION=${MIXED_DURATION:-30s}
CONCURRENCY=${CONCURRENCY:-16}
ADDR=${ADDR:-127.0.0.1:18480}
NATS_ADDR=${NATS_ADDR:-127.0.0.1:14480}
ECHO_ADDR=${ECHO_ADDR:-127.0.0.1:18099}
KEEP=${KEEP:-0}
BENCH_DB=verkosto_bench
PGBENCH_DB=verkosto_pgbench
SECS=${DURATION%s}

for cmd in go psql pgbench wrk; do
	command -v "$cmd" >/dev/null || { echo "bench/run.sh needs $cmd" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/verkosto-bench.XXXXXX)
BIN=$WORK/bin
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	if [ "$KEEP" != 1 ]; then
		psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $PGBENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
	fi
	echo "logs and outputs kept in $WORK"
}
trap cleanup EXIT

step() { printf '\n==> %s (load average %s)\n' "$*" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
# wait until the relay has published every committed change (after peak
# writes it is behind), so the next measurement starts from a steady state
drain() {
	for _ in $(seq 1 600); do
		[ "$(psql "$PGURL/$BENCH_DB" -Atc 'SELECT count(*) FROM networks.outbox WHERE sent_at IS NULL')" = 0 ] && return 0
		sleep 0.5
	done
	echo "the relay did not catch up within 5 minutes" >&2
}
# median of the numbers on stdin (mean of the two middle ones for an even count)
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) {print 0} else if (NR%2) {print v[(NR+1)/2]} else {print (v[NR/2]+v[NR/2+1])/2}}'; }
# field NAME of the RESULT line in file
field() { grep '^RESULT' "$2" | tail -1 | tr ' ' '\n' | awk -F= -v k="$1" '$1==k {print $2}'; }
wait_http() {
	for _ in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "nothing listens on $1" >&2; return 1
}

step "build"
go build -o "$BIN/verkosto" ./cmd/verkosto
go build -o "$BIN/verkosto-load" ./cmd/verkosto-load

step "machine"
{
	echo "cores: $(nproc); memory: $(free -g | awk '/^Mem:/ {print $2}') GiB; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "$(go version)"
	echo "PostgreSQL: $(psql "$PGURL/postgres" -Atc 'SHOW server_version'), fsync=$(psql "$PGURL/postgres" -Atc 'SHOW fsync'), synchronous_commit=$(psql "$PGURL/postgres" -Atc 'SHOW synchronous_commit'), autovacuum=$(psql "$PGURL/postgres" -Atc 'SHOW autovacuum')"
	echo "NATS server (embedded): $(go list -m -f '{{.Version}}' github.com/nats-io/nats-server/v2), JetStream sync_interval always"
	echo "$(wrk -v 2>&1 | head -1)"
} | tee "$WORK/machine.txt"

step "pgbench: one ~300-byte INSERT per transaction, 16 clients, $DURATION"
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $PGBENCH_DB WITH (FORCE)" -c "CREATE DATABASE $PGBENCH_DB" >/dev/null
psql "$PGURL/$PGBENCH_DB" -qc "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
for i in $(seq 1 "$REPEAT"); do
	pgbench -n -c 16 -j 2 -T "$SECS" -f bench/pgbench-insert.sql "$PGURL/$PGBENCH_DB" >"$WORK/pgbench.$i.txt" 2>&1
	grep -E '^tps' "$WORK/pgbench.$i.txt" | sed "s/^/run $i: /"
done
PG_TPS=$(cat "$WORK"/pgbench.*.txt | awk '/^tps/ {print $3}' | median)

step "pgbench: one primary-key SELECT per transaction, 16 clients, $DURATION (the read ceiling of the database)"
ROWS=$(psql "$PGURL/$PGBENCH_DB" -Atc "SELECT max(id) FROM bench_insert")
for i in $(seq 1 "$REPEAT"); do
	pgbench -n -c 16 -j 2 -T "$SECS" -D rows="$ROWS" -f bench/pgbench-select.sql "$PGURL/$PGBENCH_DB" >"$WORK/pgbench-select.$i.txt" 2>&1
	grep -E '^tps' "$WORK/pgbench-select.$i.txt" | sed "s/^/run $i: /"
done
PG_SELECT_TPS=$(cat "$WORK"/pgbench-select.*.txt | awk '/^tps/ {print $3}' | median)

step "echo ceiling: wrk -t2 -c16 -d$DURATION against the bare Connect echo handler"
"$BIN/verkosto-load" echo --addr "$ECHO_ADDR" >"$WORK/echo.log" 2>&1 &
PIDS+=($!)
wait_http "$ECHO_ADDR"
for i in $(seq 1 "$REPEAT"); do
	wrk -t2 -c16 -d"$DURATION" --latency -s bench/connect-json.lua "http://$ECHO_ADDR" >"$WORK/wrk-echo.$i.txt"
	grep '^RESULT' "$WORK/wrk-echo.$i.txt" | sed "s/^/run $i: /"
done
ECHO_RPS=$(for f in "$WORK"/wrk-echo.*.txt; do field rps "$f"; done | median)

step "the Go load generator's own ceiling: verkosto-load run --mix echo=100 (16 callers)"
for i in $(seq 1 "$REPEAT"); do
	"$BIN/verkosto-load" run --url "http://$ECHO_ADDR" --mix echo=100 --concurrency "$CONCURRENCY" --duration "$DURATION" >"$WORK/go-echo.$i.txt"
	grep '^RESULT' "$WORK/go-echo.$i.txt" | sed "s/^/run $i: /"
done
GO_ECHO_RPS=$(for f in "$WORK"/go-echo.*.txt; do field echo_rps "$f"; done | median)
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true; unset 'PIDS[-1]'

step "verkosto serve on $PGURL/$BENCH_DB, embedded NATS on $NATS_ADDR"
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB" >/dev/null
DATABASE_URL="$PGURL/$BENCH_DB" "$BIN/verkosto" serve --addr "$ADDR" --nats-listen "$NATS_ADDR" \
	--data-dir "$WORK/data" --log-level warn >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
wait_http "$ADDR"
TOKEN=$("$BIN/verkosto" token create --database-url "$PGURL/$BENCH_DB" --name "load test" --role admin 2>/dev/null)
"$BIN/verkosto-load" setup --url "http://$ADDR" --token "$TOKEN" >"$WORK/fixture.txt"
NETWORK=$(awk '$1=="network" {print $2; exit}' "$WORK/fixture.txt")
echo "fixture: $(grep -c '^network' "$WORK/fixture.txt") networks, $(grep -c '^association' "$WORK/fixture.txt") associations; wrk reads network $NETWORK"

step "read RPC: wrk -t2 -c16 -d$DURATION GetNetwork (Connect JSON)"
for i in $(seq 1 "$REPEAT"); do
	WRK_PATH=/verkosto.networks.v1.NetworksService/GetNetwork WRK_BODY="{\"id\":\"$NETWORK\"}" WRK_TOKEN="$TOKEN" \
		wrk -t2 -c16 -d"$DURATION" --latency -s bench/connect-json.lua "http://$ADDR" >"$WORK/wrk-read.$i.txt"
	grep '^RESULT' "$WORK/wrk-read.$i.txt" | sed "s/^/run $i: /"
done
READ_RPS=$(for f in "$WORK"/wrk-read.*.txt; do field rps "$f"; done | median)

LOAD=("$BIN/verkosto-load" run --url "http://$ADDR" --token "$TOKEN" --nats "nats://$NATS_ADDR" --concurrency "$CONCURRENCY")

step "peak writes: verkosto-load --mix write=100, $CONCURRENCY callers, $DURATION"
for i in $(seq 1 "$REPEAT"); do
	"${LOAD[@]}" --mix write=100 --duration "$DURATION" >"$WORK/write.$i.txt"
	grep '^RESULT' "$WORK/write.$i.txt" | sed "s/^/run $i: /"
	drain
done
WRITE_RPS=$(for f in "$WORK"/write.*.txt; do field write_rps "$f"; done | median)
WRITE_OPS=$(for f in "$WORK"/write.*.txt; do field write_ops "$f"; done | median)
PEAK_C2S_P99=$(for f in "$WORK"/write.*.txt; do field c2s_p99_ms "$f"; done | median)

HALF=$(awk -v w="$WRITE_OPS" 'BEGIN {printf "%.0f", w/2}')
step "commit-to-subscriber at half the peak write load: --rate $HALF ops/s ($(awk -v w="$WRITE_RPS" 'BEGIN {printf "%.0f", w/2}') write RPC/s)"
for i in $(seq 1 "$REPEAT"); do
	"${LOAD[@]}" --mix write=100 --rate "$HALF" --duration "$DURATION" >"$WORK/half.$i.txt"
	grep '^RESULT' "$WORK/half.$i.txt" | sed "s/^/run $i: /"
	drain
done
HALF_C2S_P50=$(for f in "$WORK"/half.*.txt; do field c2s_p50_ms "$f"; done | median)
HALF_C2S_P99=$(for f in "$WORK"/half.*.txt; do field c2s_p99_ms "$f"; done | median)

step "mixed: verkosto-load --mix read=80,write=20, $CONCURRENCY callers, $MIXED_DURATION"
for i in $(seq 1 "$REPEAT"); do
	"${LOAD[@]}" --mix read=80,write=20 --duration "$MIXED_DURATION" >"$WORK/mixed.$i.txt"
	grep '^RESULT' "$WORK/mixed.$i.txt" | sed "s/^/run $i: /"
done
MIXED_RPS=$(for f in "$WORK"/mixed.*.txt; do field total_rps "$f"; done | median)
MIXED_C2S_P99=$(for f in "$WORK"/mixed.*.txt; do field c2s_p99_ms "$f"; done | median)
echo "per RPC (last mixed run):"
sed -n '/^rpc /,/^throughput/p' "$WORK/mixed.$REPEAT.txt"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a/b; else print "n/a"}'; }
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN {ok = (op == ">=") ? v >= t : v <= t; print ok ? "met" : "NOT met"}'; }
W_RATIO=$(ratio "$WRITE_RPS" "$PG_TPS")
R_RATIO=$(ratio "$READ_RPS" "$ECHO_RPS")
step "summary (medians of $REPEAT runs; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
cat <<EOF | tee "$WORK/summary.txt"
ceilings
  pgbench INSERT (16 clients)            $PG_TPS TPS
  pgbench SELECT by key (16 clients)     $PG_SELECT_TPS TPS
  echo, wrk -t2 -c16                     $ECHO_RPS req/s
  echo, Go load generator (16 callers)   $GO_ECHO_RPS req/s
verkosto
  GetNetwork, wrk -t2 -c16               $READ_RPS req/s
  writes, 16 callers                     $WRITE_RPS write RPC/s ($WRITE_OPS membership approvals/s, 3 RPCs each); commit-to-subscriber p99 $PEAK_C2S_P99 ms
  writes at half peak ($HALF ops/s)      commit-to-subscriber p50 $HALF_C2S_P50 ms, p99 $HALF_C2S_P99 ms
  mixed read=80,write=20, 16 callers     $MIXED_RPS RPC/s; commit-to-subscriber p99 $MIXED_C2S_P99 ms
ratios                                   value   target   verdict
  write RPC/s / pgbench TPS              $W_RATIO    >= 0.5   $(verdict "$W_RATIO" 0.5 ">=")
  read RPC/s / echo req/s                $R_RATIO    >= 0.5   $(verdict "$R_RATIO" 0.5 ">=")
  (read RPC/s / pgbench SELECT TPS       $(ratio "$READ_RPS" "$PG_SELECT_TPS"))
  commit-to-subscriber p99 at half peak  $HALF_C2S_P99 ms  <= 50    $(verdict "$HALF_C2S_P99" 50 "<=")
EOF
