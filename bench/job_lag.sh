#!/bin/bash
# Benchmark (c) of the migration-split job: replication lag under a steady
# TPC-B-like load (pgbench on the source, rate-limited with -R to RATE
# transactions per second, CLIENTS clients, for DURATION seconds), for
# "migration-split stream" and, in the same run, for the peers: PostgreSQL's
# native subscription and pglogical (PEERS, default "native pglogical").
#
#   RATE=2000 DURATION=60 SCALE=10 PG_CONFIG=... bash bench/job_lag.sh
#   ACCOUNTS=100 RATE=1000 PG_CONFIG=... bash bench/job_lag.sh
#
# Each tool runs alone under the same load: its target database is set up
# (init, or a subscription with its initial sync) just before its run, the
# load runs, and the run ends when the tool has caught up.
#
# Lag: a heartbeat procedure on the source inserts a row (run, n,
# clock_timestamp()) into table hb and commits, every 100 ms, during the
# load.  On the target, one backend runs a procedure that every 10 ms looks
# for heartbeats it has not seen yet (an index probe of the few newest rows)
# and records when it first saw each: lag of a heartbeat = the moment it
# became visible on the target - the moment it was committed on the source
# (both clusters on this machine share the clock; the 10 ms poll adds 5 ms
# on average, the same for every tool).  The target's commit timestamps
# cannot be used: a session with a replication origin (the native worker,
# pglogical) records the source's commit time as its own.  Printed: p50,
# p90, p99 and max of the heartbeats of the run, side by side, and whether
# the tool kept up (max lag at the end of the load against the start).
#
# The load commits with synchronous_commit = LOAD_SYNC_COMMIT (default off):
# with on, the source's WAL flushes cap pgbench near 500 tps here, a rate
# one apply connection keeps up with easily.
# RATE and ACCOUNTS: the load should be one that one apply connection
# cannot keep up with (its lag grows through the run: the mean lag of the
# last 5 s above that of the first 5 s).  With pgbench's own TPC-B
# (ACCOUNTS=1) the source itself is the limit on the README's 2-core
# machine: about 2,800 to 3,200 tps unthrottled (synchronous_commit off),
# and the native worker keeps up with that.  ACCOUNTS=100 RATE=1000 (202
# row changes per transaction, 200,000 a second) is such a load there: the
# native worker's lag grows through the run.  On a larger machine, raise
# RATE until the native worker's lag grows.
# Before each tool's run, VACUUM ANALYZE on both sides (so that autovacuum
# has nothing left from the load and the copies before, the same for every
# tool) and a CHECKPOINT on the target.  MS_APPLY_JOBS, when set, is passed to
# stream as --apply-jobs, MS_STREAM_ARGS (words) as further options of
# stream (e.g. "--batch-time 20").  After each run every pgbench table is compared
# with the source (row count and an md5 of every row in key order).
here=$(cd "$(dirname "$0")" && pwd)
BENCH_PLUGINS="pglogical_output"
EXTRA_CONF="shared_preload_libraries = 'pglogical'
track_commit_timestamp = on
log_autovacuum_min_duration = 0"
. "$here/job_lib.sh"

RATE=${RATE:-2000}
ACCOUNTS=${ACCOUNTS:-1}
DURATION=${DURATION:-60}
SCALE=${SCALE:-10}
CLIENTS=${CLIENTS:-8}
PEERS=${PEERS:-native pglogical}
CATCHUP_TIMEOUT=${CATCHUP_TIMEOUT:-300}
LOAD_SYNC_COMMIT=${LOAD_SYNC_COMMIT:-off}
export PATH="$BIN:$PATH"
SRC_DSN="host=$BENCH_DIR port=$SRC_PORT user=postgres dbname=postgres"
beats=$((DURATION * 10))

stream_pid=""
bench_start_clusters
trap '[ -n "$stream_pid" ] && kill $stream_pid 2>/dev/null; bench_stop_clusters' EXIT

"$BIN/pgbench" -i -q -s "$SCALE" -h "$BENCH_DIR" -p "$SRC_PORT" -U postgres postgres >/dev/null 2>&1
psql_src -c "CREATE EXTENSION migration_split" \
	-c "ALTER TABLE pgbench_history REPLICA IDENTITY FULL" \
	-c "CREATE TABLE hb (run int, n int, ts timestamptz, PRIMARY KEY (run, n))" \
	-c "INSERT INTO migration_split.domains (domain) VALUES ('bank')" \
	-c "INSERT INTO migration_split.ownership (rel, domain) SELECT t::regclass, 'bank' FROM unnest(array['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history', 'hb']) t" \
	-c "CREATE PUBLICATION pub FOR TABLE pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history, hb"
psql_src <<'SQL'
CREATE PROCEDURE heartbeat(r int, total int) LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1 .. total LOOP
		INSERT INTO hb VALUES (r, i, clock_timestamp());
		COMMIT;
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;
SQL

# the watcher, in each target database: records when each heartbeat of run
# r (1 .. total + 1, the last one committed after the load) became visible.
# Each poll costs the same however many heartbeats were seen: one index
# range scan of the heartbeats above "lo" (every one up to lo was seen;
# those above it are the newest few, and any a parallel apply committed out
# of order), and an insert per newly seen one.  (The first version
# anti-joined all of hb with hb_seen every 10 ms: its cost grew with the
# run, and at its end it took more CPU than the apply it measured.)  It is
# called with enable_seqscan off: hb's statistics on a target are those of
# the VACUUM ANALYZE before the run.
watcher_sql="
CREATE UNLOGGED TABLE hb_seen (run int, n int, seen timestamptz, PRIMARY KEY (run, n));
CREATE PROCEDURE watch(r int, total int, hb regclass, timeout float8) LANGUAGE plpgsql AS \$\$
DECLARE
	lo int := 0;
	seen bool[] := array_fill(false, ARRAY[total + 1]);
	nseen int := 0;
	k int;
	found_new bool;
	t0 timestamptz := clock_timestamp();
BEGIN
	WHILE nseen < total + 1 AND clock_timestamp() < t0 + timeout * interval '1 s' LOOP
		found_new := false;
		FOR k IN EXECUTE format('SELECT n FROM %s WHERE run = \$1 AND n > \$2 ORDER BY n', hb) USING r, lo LOOP
			IF k <= total + 1 AND NOT seen[k] THEN
				seen[k] := true;
				nseen := nseen + 1;
				found_new := true;
				INSERT INTO hb_seen VALUES (r, k, clock_timestamp());
			END IF;
		END LOOP;
		IF found_new THEN
			WHILE lo < total + 1 AND seen[lo + 1] LOOP
				lo := lo + 1;
			END LOOP;
			COMMIT;
		END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
END
\$\$;"

# The load: pgbench's own TPC-B, or with ACCOUNTS > 1 the same transaction
# moving money for ACCOUNTS consecutive accounts at once (one UPDATE of
# the accounts, one of a teller, one of a branch, one INSERT ... SELECT of
# ACCOUNTS history rows): 2 * ACCOUNTS + 2 row changes per transaction,
# made by four statements, so that the source makes changes faster than one
# apply connection applies them row by row.
load_script=()
if [ "$ACCOUNTS" -gt 1 ]; then
	cat >"$BENCH_DIR/tpcb_multi.sql" <<SQL
\\set aid random(1, 100000 * $SCALE - $ACCOUNTS + 1)
\\set bid random(1, $SCALE)
\\set tid random(1, 10 * $SCALE)
\\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid BETWEEN :aid AND :aid + $ACCOUNTS - 1;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta * $ACCOUNTS WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta * $ACCOUNTS WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) SELECT :tid, :bid, a, :delta, CURRENT_TIMESTAMP FROM generate_series(:aid, :aid + $ACCOUNTS - 1) a;
END;
SQL
	load_script=(-f "$BENCH_DIR/tpcb_multi.sql")
fi

results=()
run=0

# run_load DB HBTABLE: one run of the load and heartbeats while the tool
# applies into DB; then the watcher's figures and the exactness check
run_load()
{
	local db=$1 hbtab=$2 schema=${2%.*} name=$3
	run=$((run + 1))
	# nothing left for autovacuum from the load and the copies before
	psql_src -c "VACUUM ANALYZE"
	psql_tgt -d "$db" -c "VACUUM ANALYZE"
	psql_tgt -d "$db" -c "CHECKPOINT"
	psql_tgt -d "$db" -c "SET enable_seqscan = off" -c "CALL watch($run, $beats, '$hbtab', $DURATION + $CATCHUP_TIMEOUT)" &
	local watch_pid=$!
	psql_src -c "CALL heartbeat($run, $beats)" &
	local hb_pid=$!
	PGOPTIONS="-c synchronous_commit=$LOAD_SYNC_COMMIT" \
		"$BIN/pgbench" -n -M prepared -R "$RATE" -T "$DURATION" -c "$CLIENTS" -j 2 "${load_script[@]}" \
		-h "$BENCH_DIR" -p "$SRC_PORT" -U postgres postgres >"$BENCH_DIR/pgbench.$name" 2>&1
	wait $hb_pid
	psql_src -c "INSERT INTO hb VALUES ($run, $beats + 1, clock_timestamp())"
	wait $watch_pid || true
	local tps
	tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$BENCH_DIR/pgbench.$name" | head -1)
	local line
	line=$(psql_tgt -d "$db" -At -F ' ' -c "
SELECT count(s.n) || '/' || $beats,
       round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s.seen - h.ts)))::int,
       round(1000 * percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM s.seen - h.ts)))::int,
       round(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM s.seen - h.ts)))::int,
       round(1000 * max(extract(epoch FROM s.seen - h.ts)))::int,
       round(1000 * avg(extract(epoch FROM s.seen - h.ts)) FILTER (WHERE h.n <= 50))::int,
       round(1000 * avg(extract(epoch FROM s.seen - h.ts)) FILTER (WHERE h.n > $beats - 50))::int
FROM $hbtab h JOIN hb_seen s USING (run, n) WHERE h.run = $run AND h.n <= $beats")
	[ -n "${LAG_TRACE:-}" ] && psql_tgt -d "$db" -At -F ' ' -c "SELECT h.n, round(1000 * extract(epoch FROM s.seen - h.ts))::int FROM $hbtab h JOIN hb_seen s USING (run, n) WHERE h.run = $run ORDER BY h.n" >"$LAG_TRACE.$run"
	results+=("$(printf '%-28s %8s tps  %s' "$name" "$tps" "$line")")
	echo "$name: source $tps tps; heartbeats seen, p50 p90 p99 max ms, mean lag of first/last 5 s ms: $line"
	# exactly once: the source is quiet now and the tool has applied the last heartbeat
	for tk in pgbench_accounts:aid pgbench_branches:bid pgbench_tellers:tid pgbench_history:tid,bid,aid,delta,mtime; do
		local t=${tk%:*} k=${tk#*:} s g
		s=$(psql_src -At -c "SELECT count(*) || ' ' || md5(string_agg(t::text, ',' ORDER BY $k)) FROM $t t")
		g=$(psql_tgt -d "$db" -At -c "SELECT count(*) || ' ' || md5(string_agg(t::text, ',' ORDER BY $k)) FROM $schema.$t t")
		[ "$s" = "$g" ] || { echo "MISMATCH in $t for $name: source $s, target $g"; exit 1; }
	done
	echo "  $name: every pgbench table equals the source's"
}

# ours
psql_tgt -c "CREATE DATABASE ours"
"$BIN/migration-split" init --source "$SRC" --target "$TGT dbname=ours" --domain bank --no-progress >/dev/null
psql_tgt -d ours -c "$watcher_sql"
apply_jobs=()
[ -n "${MS_APPLY_JOBS:-}" ] && apply_jobs=(--apply-jobs "$MS_APPLY_JOBS")
# shellcheck disable=SC2206
extra_args=(${MS_STREAM_ARGS:-})
"$BIN/migration-split" stream --source "$SRC" --target "$TGT dbname=ours" --domain bank --status-interval 0 \
	"${apply_jobs[@]}" "${extra_args[@]}" 2>"$BENCH_DIR/stream.err" &
stream_pid=$!
# The load starts once the job streams (its slot is active), as the peers'
# loads start once their apply worker runs (initial sync done): the job's
# start (connections, catalog queries, START_REPLICATION) is not lag.
for _ in $(seq 600); do
	[ "$(psql_src -At -c "SELECT active FROM pg_replication_slots WHERE slot_name = 'migration_split_bank'")" = t ] && break
	kill -0 $stream_pid 2>/dev/null || { cat "$BENCH_DIR/stream.err" >&2; exit 1; }
	sleep 0.1
done
echo "load: pgbench TPC-B$([ "$ACCOUNTS" -gt 1 ] && echo " with $ACCOUNTS accounts per transaction"), -R $RATE for $DURATION s, $CLIENTS clients, scale $SCALE; heartbeats every 100 ms"
# segments for the target WAL of a run, so that the tool run first does not
# create them for the others
wal_mb=$((DURATION * RATE * (ACCOUNTS + 1) / 2048 + 64))
bench_warm_wal tgt $((wal_mb < 2048 ? wal_mb : 2048))
run_load ours bank.hb "migration-split stream${MS_APPLY_JOBS:+ -j$MS_APPLY_JOBS}"
kill -INT $stream_pid; wait $stream_pid || true
stream_pid=""

if [[ " $PEERS " == *" native "* ]]; then
	psql_tgt -c "CREATE DATABASE native"
	"$BIN/pgbench" -i -I dtp -h "$BENCH_DIR" -p "$TGT_PORT" -U postgres native >/dev/null 2>&1
	psql_tgt -d native -c "CREATE TABLE hb (run int, n int, ts timestamptz, PRIMARY KEY (run, n))" -c "$watcher_sql" \
		-c "CREATE SUBSCRIPTION sub CONNECTION '$SRC_DSN' PUBLICATION pub" 2>/dev/null
	until [ "$(psql_tgt -d native -At -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'")" = 0 ]; do sleep 0.5; done
	run_load native public.hb "native subscription"
	psql_tgt -d native -c "ALTER SUBSCRIPTION sub DISABLE"
fi

if [[ " $PEERS " == *" pglogical "* ]]; then
	psql_tgt -c "CREATE DATABASE pgl"
	"$BIN/pgbench" -i -I dtp -h "$BENCH_DIR" -p "$TGT_PORT" -U postgres pgl >/dev/null 2>&1
	psql_tgt -d pgl -c "CREATE TABLE hb (run int, n int, ts timestamptz, PRIMARY KEY (run, n))" -c "$watcher_sql"
	psql_src -c "CREATE EXTENSION pglogical" \
		-c "SELECT pglogical.create_node(node_name := 'provider', dsn := '$SRC_DSN')" \
		-c "SELECT pglogical.replication_set_add_table('default', t::regclass, true) FROM unnest(array['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'hb']) t" \
		-c "SELECT pglogical.replication_set_add_table('default_insert_only', 'pgbench_history', true)" >/dev/null
	psql_tgt -d pgl -c "CREATE EXTENSION pglogical" \
		-c "SELECT pglogical.create_node(node_name := 'subscriber', dsn := 'host=$BENCH_DIR port=$TGT_PORT user=postgres dbname=pgl')" \
		-c "SELECT pglogical.create_subscription(subscription_name := 'pgl', provider_dsn := '$SRC_DSN', synchronize_structure := false, synchronize_data := true)" >/dev/null
	until [ "$(psql_tgt -d pgl -At -c "SELECT count(*) FROM pglogical.local_sync_status WHERE sync_status <> 'r'")" = 0 ] &&
		[ "$(psql_tgt -d pgl -At -c "SELECT status FROM pglogical.show_subscription_status('pgl')")" = replicating ]; do sleep 0.5; done
	run_load pgl public.hb "pglogical"
	psql_tgt -d pgl -c "SELECT pglogical.alter_subscription_disable('pgl', true)" >/dev/null
fi

echo
echo "tool                         source tps  heartbeats  p50 p90 p99 max (ms)  mean lag first/last 5 s (ms)"
printf '%s\n' "${results[@]}"
