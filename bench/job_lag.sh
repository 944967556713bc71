#!/bin/bash
# Benchmark (c) of the migration-split job: replication lag under a steady
# pgbench (TPC-B like) write load at RATE transactions per second for
# DURATION seconds, with "migration-split stream" running.
#
#   RATE=500 DURATION=60 SCALE=10 PG_CONFIG=... bash bench/job_lag.sh
#
# Lag of one source transaction = commit time of the target transaction that
# applied it (track_commit_timestamp on the target) minus the source
# transaction's start (pgbench_history.mtime, now() in the source
# transaction), over every transaction of the run; both clusters share the
# clock.  Prints p50, p90, p99 and max.
here=$(cd "$(dirname "$0")" && pwd)
EXTRA_TGT_CONF="track_commit_timestamp = on"
. "$here/job_lib.sh"

RATE=${RATE:-500}
DURATION=${DURATION:-60}
SCALE=${SCALE:-10}
CLIENTS=${CLIENTS:-4}

bench_start_clusters
trap 'kill $stream_pid 2>/dev/null || true; bench_stop_clusters' EXIT

"$BIN/pgbench" -i -q -s "$SCALE" -h "$BENCH_DIR" -p "$SRC_PORT" -U postgres postgres >/dev/null 2>&1
psql_src -c "CREATE EXTENSION migration_split" \
	-c "ALTER TABLE pgbench_history REPLICA IDENTITY FULL" \
	-c "INSERT INTO migration_split.domains (domain) VALUES ('bank')" \
	-c "INSERT INTO migration_split.ownership (rel, domain) SELECT t::regclass, 'bank' FROM unnest(array['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history']) t"
"$BIN/migration-split" init --source "$SRC" --target "$TGT" --domain bank --no-progress >/dev/null

"$BIN/migration-split" stream --source "$SRC" --target "$TGT" --domain bank --status-interval 0 \
	2>"$BENCH_DIR/stream.err" &
stream_pid=$!
sleep 1

echo "pgbench: $RATE tps for $DURATION s, $CLIENTS clients, scale $SCALE"
"$BIN/pgbench" -n -R "$RATE" -T "$DURATION" -c "$CLIENTS" -j 2 -h "$BENCH_DIR" -p "$SRC_PORT" -U postgres postgres |
	grep -E "^(number of transactions actually processed|latency average|tps)"

# wait until caught up, then stop the stream
"$BIN/migration-split" status --source "$SRC" --target "$TGT" --domain bank --json >/dev/null
want=$(psql_src -At -c "SELECT count(*) FROM pgbench_history")
for i in $(seq 1 600); do
	[ "$(psql_tgt -At -c "SELECT count(*) FROM bank.pgbench_history")" = "$want" ] && break
	sleep 0.1
done
kill -INT $stream_pid; wait $stream_pid || true

psql_tgt -At -F ' ' -c "
SELECT 'transactions ' || count(*),
       'p50 ' || round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY l))::int || ' ms',
       'p90 ' || round(1000 * percentile_cont(0.9) WITHIN GROUP (ORDER BY l))::int || ' ms',
       'p99 ' || round(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY l))::int || ' ms',
       'max ' || round(1000 * max(l))::int || ' ms'
FROM (SELECT extract(epoch FROM pg_xact_commit_timestamp(xmin) - mtime) AS l
      FROM bank.pgbench_history) s"
for tk in pgbench_accounts:aid pgbench_branches:bid pgbench_tellers:tid; do
	t=${tk%:*} k=${tk#*:}
	s=$(psql_src -At -c "SELECT md5(string_agg(t::text, ',' ORDER BY $k)) FROM $t t")
	g=$(psql_tgt -At -c "SELECT md5(string_agg(t::text, ',' ORDER BY $k)) FROM bank.$t t")
	[ "$s" = "$g" ] || { echo "MISMATCH in $t"; exit 1; }
done
echo "target equals source"
