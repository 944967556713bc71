#!/bin/bash
# Benchmark (b) of the migration-split job: catch-up apply of CHANGES
# changed rows (inserts, updates, deletes in transactions of 1 to 100 rows)
# by "migration-split stream --until-caught-up", compared in the same run
# with the tools a DBA would pick instead, each catching up the same changes
# from a slot created before them:
#   - native   PostgreSQL's logical replication (CREATE SUBSCRIPTION)
#   - pglogical pglogical 2 (postgresql-15-pglogical), its recommended
#              settings: shared_preload_libraries = 'pglogical',
#              track_commit_timestamp = on, wal_level = logical, enough
#              worker processes, slots and senders; apply through the heap
#              API (pglogical.use_spi = off, its default)
#   - pgcopydb "pgcopydb follow" (pgcopydb 0.10 from Debian 12: wal2json,
#              prefetch into JSON files, transform to SQL, replay), set up
#              with "pgcopydb stream setup" before the changes
# Each catch-up runs alone, in its own target database, and each is checked
# afterwards (outside the timing) to hold exactly the source's rows: row
# count and an md5 of every row in key order.
#
#   CHANGES=1000000 PG_CONFIG=... bash bench/job_apply.sh
#
# PEERS (default "native pglogical pgcopydb") selects the peers;
# APPLY_JOBS (default "1 2 4"): stream runs once per number of apply
# workers (--apply-jobs), each into a database and slot of its own;
# STREAM_OPTS: more options for each "migration-split stream" (e.g.
# "--batch-changes 100000"); STREAM_WRAP: a command line each stream runs
# under (e.g. "perf record -a -o /tmp/perf.data --"), to profile it alone;
# PGCOPYDB_TIMEOUT (default 600 s): pgcopydb follow is stopped after that
# long and reported as a lower bound, with how much of the WAL it had
# replayed (the replication origin's position against the WAL to replay)
# and the time that rate gives for all of it.  pgcopydb is taken from PATH,
# with PG_CONFIG's bindir first on it (for the pg_dump it runs).
#
# How the end of each catch-up is detected without slowing it down:
#   - stream: the process exits when caught up (--until-caught-up); no
#     polling at all.
#   - native, pglogical, pgcopydb: a marker row is committed on the source
#     after the whole workload; all three apply in source commit order, so
#     the marker's arrival on the target means everything before it was
#     applied.  One target backend runs a DO block that looks at the
#     one-row marker table every 20 ms (an index-only probe of a few
#     microseconds): it takes no measurable CPU from the apply process, as
#     a fingerprint of the whole table (1.0's method) did.  The clock of
#     native and pglogical starts at their apply worker's backend_start
#     (the launcher takes seconds to start a worker after ENABLE, which is
#     not apply work); pgcopydb's clock starts when the command starts.
# autovacuum is off on both clusters: the vacuum of the source's table after
# the workload, and of an earlier method's target table, would otherwise run
# during whichever method comes first or next.
# After each method, "cost:" gives the CPU seconds of the source's server
# processes (the walsender decoding, mostly), of the target's (the apply)
# and of the client (the job; pgcopydb's processes), over the whole catch-up
# of that method (for the peers, from ENABLE to DISABLE).
here=$(cd "$(dirname "$0")" && pwd)
BENCH_PLUGINS="wal2json pglogical_output"
EXTRA_CONF="shared_preload_libraries = 'pglogical'
track_commit_timestamp = on
autovacuum = off"
. "$here/job_lib.sh"

CHANGES=${CHANGES:-1000000}
ROWS=${ROWS:-200000}
PEERS=${PEERS:-native pglogical pgcopydb}
PGCOPYDB_TIMEOUT=${PGCOPYDB_TIMEOUT:-600}
export PATH="$BIN:$PATH"

has_peer() { [[ " $PEERS " == *" $1 "* ]]; }
# stream runs once per number of apply workers (--apply-jobs), each into a
# database of its own with a slot of its own
APPLY_JOBS=${APPLY_JOBS:-"1 2 4"}

bench_start_clusters
trap bench_stop_clusters EXIT

SRC_DSN="host=$BENCH_DIR port=$SRC_PORT user=postgres dbname=postgres"
SRC_URI="postgresql://postgres@/postgres?host=$BENCH_DIR&port=$SRC_PORT"
TGT_URI_PCD="postgresql://postgres@/pcd?host=$BENCH_DIR&port=$TGT_PORT"

table_sql="CREATE TABLE t (id bigserial PRIMARY KEY, a int, b text, c timestamptz);"
psql_src -c "CREATE EXTENSION migration_split" -c "$table_sql" \
	-c "INSERT INTO t (a, b, c) SELECT i, md5(i::text), now() FROM generate_series(1, $ROWS) i" \
	-c "INSERT INTO migration_split.domains (domain) VALUES ('bench')" \
	-c "INSERT INTO migration_split.ownership (rel, domain) VALUES ('t', 'bench')" \
	-c "CREATE TABLE done (id int PRIMARY KEY)" \
	-c "CREATE PUBLICATION pub FOR TABLE t, done"
psql_src <<'SQL'
CREATE PROCEDURE gen(total int) LANGUAGE plpgsql AS $$
DECLARE
	done int := 0;
	n int;
	x bigint;
	c int;
	maxid bigint;
BEGIN
	SELECT max(id) INTO maxid FROM t;
	WHILE done < total LOOP
		n := 1 + floor(random() * 100)::int;
		x := 1 + floor(random() * maxid)::bigint;
		CASE floor(random() * 3)::int
			WHEN 0 THEN
				INSERT INTO t (a, b, c) SELECT i, md5(i::text), now() FROM generate_series(1, n) i;
			WHEN 1 THEN
				UPDATE t SET a = a + 1, b = md5(b) WHERE id >= x AND id < x + n;
			ELSE
				DELETE FROM t WHERE id >= x AND id < x + n;
		END CASE;
		GET DIAGNOSTICS c = ROW_COUNT;
		done := done + c;
		COMMIT;
	END LOOP;
END
$$;
SQL

# Every slot is created while the source is quiescent, so any snapshot is
# the slots' snapshot: the peers' target tables get the rows by a plain COPY.
copy_initial()
{
	psql_tgt -d "$1" -c "$table_sql" -c "CREATE TABLE done (id int PRIMARY KEY)"
	psql_src -c "COPY t TO STDOUT" | psql_tgt -d "$1" -c "COPY t FROM STDIN"
	psql_tgt -d "$1" -c "VACUUM ANALYZE t"
}

# ours: init, once per number of apply workers (--apply-jobs), each into a
# database of its own with a slot of its own
for n in $APPLY_JOBS; do
	psql_tgt -c "CREATE DATABASE ours_$n"
	"$BIN/migration-split" init --source "$SRC" --target "$TGT dbname=ours_$n" --domain bench \
		--slot "migration_split_bench_$n" --no-progress >/dev/null
done

# native: subscription, initial sync, then disabled
if has_peer native; then
	psql_tgt -c "CREATE DATABASE native"
	psql_tgt -d native -c "$table_sql" -c "CREATE TABLE done (id int PRIMARY KEY)" \
		-c "CREATE SUBSCRIPTION sub CONNECTION '$SRC_DSN' PUBLICATION pub"
	until [ "$(psql_tgt -d native -At -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'")" = 0 ]; do sleep 0.5; done
	psql_tgt -d native -c "ALTER SUBSCRIPTION sub DISABLE"
fi

# pglogical: provider and subscriber nodes, a subscription without initial
# sync (the rows are copied above), replicating, then disabled
if has_peer pglogical; then
	psql_tgt -c "CREATE DATABASE pgl"
	copy_initial pgl
	psql_src -c "CREATE EXTENSION pglogical" \
		-c "SELECT pglogical.create_node(node_name := 'provider', dsn := '$SRC_DSN')" \
		-c "SELECT pglogical.replication_set_add_table('default', 't'), pglogical.replication_set_add_table('default', 'done')" >/dev/null
	psql_tgt -d pgl -c "CREATE EXTENSION pglogical" \
		-c "SELECT pglogical.create_node(node_name := 'subscriber', dsn := 'host=$BENCH_DIR port=$TGT_PORT user=postgres dbname=pgl')" \
		-c "SELECT pglogical.create_subscription(subscription_name := 'pgl', provider_dsn := '$SRC_DSN', synchronize_structure := false, synchronize_data := false)" >/dev/null
	until [ "$(psql_tgt -d pgl -At -c "SELECT status FROM pglogical.show_subscription_status('pgl')")" = replicating ]; do sleep 0.5; done
	psql_tgt -d pgl -c "SELECT pglogical.alter_subscription_disable('pgl', true)" >/dev/null
fi

# pgcopydb: slot (wal2json), sentinel table and replication origin
if has_peer pgcopydb; then
	psql_tgt -c "CREATE DATABASE pcd"
	copy_initial pcd
	rm -rf "$BENCH_DIR/pgcopydb"
	if ! pgcopydb stream setup --source "$SRC_URI" --target "$TGT_URI_PCD" --dir "$BENCH_DIR/pgcopydb" \
		--not-consistent >"$BENCH_DIR/pgcopydb-setup.log" 2>&1; then
		echo "pgcopydb stream setup failed; the end of its log:"
		tail -20 "$BENCH_DIR/pgcopydb-setup.log"
		exit 1
	fi
fi
until [ "$(psql_src -At -c "SELECT count(*) FROM pg_replication_slots WHERE active")" = 0 ]; do sleep 0.2; done

echo "making $CHANGES changes on the source"
start=$(now)
psql_src -c "CALL gen($CHANGES)"
echo "  took $(elapsed "$start") s"
psql_src -c "INSERT INTO done VALUES (1)"   # the marker, after the whole workload
end_lsn=$(psql_src -At -c "SELECT pg_current_wal_lsn()")
psql_src -At -c "SELECT 'WAL to decode: ' || pg_size_pretty(pg_wal_lsn_diff('$end_lsn', confirmed_flush_lsn)) FROM pg_replication_slots WHERE slot_name = 'migration_split_bench_${APPLY_JOBS%% *}'"
psql_src -c "CHECKPOINT"
# each method writes about 180 bytes of target WAL per change: segments for
# it, so that the first method does not create them for the others
bench_warm_wal tgt $((CHANGES * 256 / 1048576 + 64))

# Before each method, outside its time: the kernel writes back what the
# workload, the WAL segments above and the method before left dirty in the
# page cache, so that no method pays for another's writes (without it the
# first method took 0.15 to 0.25 s longer, autovacuum off or on).
settle()
{
	sync
	sleep 1
}

declare -A t_ours
for n in $APPLY_JOBS; do
	settle
	cost_start
	start=$(now)
	${STREAM_WRAP:-} "$BIN/migration-split" stream --source "$SRC" --target "$TGT dbname=ours_$n" --domain bench --until-caught-up \
		--apply-jobs "$n" --status-interval 0 ${STREAM_OPTS:-} 2>"$BENCH_DIR/stream_$n.err"
	t_ours[$n]=$(elapsed "$start")
	echo "migration-split stream --until-caught-up --apply-jobs $n: ${t_ours[$n]} s"
	cost_end
	psql_tgt -c "CHECKPOINT"
done

wait_marker="DO \$\$ BEGIN WHILE NOT EXISTS (SELECT FROM public.done) LOOP PERFORM pg_sleep(0.02); END LOOP; END \$\$"

# seconds from the start of the apply worker whose backend_type matches $2
# in database $1 until now
worker_seconds()
{
	psql_tgt -d "$1" -At -c "SELECT round(extract(epoch FROM clock_timestamp() - backend_start)::numeric, 2)
		FROM pg_catalog.pg_stat_activity WHERE backend_type LIKE '$2' AND datname = '$1'"
}

t_native="" t_pgl="" t_pcd="" pcd_done=true
if has_peer native; then
	settle
	cost_start
	psql_tgt -d native -c "ALTER SUBSCRIPTION sub ENABLE"
	psql_tgt -d native -c "$wait_marker"
	t_native=$(worker_seconds native 'logical replication worker')
	psql_tgt -d native -c "ALTER SUBSCRIPTION sub DISABLE"
	echo "native (CREATE SUBSCRIPTION) apply worker: $t_native s"
	cost_end
	psql_tgt -c "CHECKPOINT"
fi

if has_peer pglogical; then
	settle
	cost_start
	psql_tgt -d pgl -c "SELECT pglogical.alter_subscription_enable('pgl', true)" >/dev/null
	psql_tgt -d pgl -c "$wait_marker"
	t_pgl=$(worker_seconds pgl 'pglogical apply%')
	psql_tgt -d pgl -c "SELECT pglogical.alter_subscription_disable('pgl', true)" >/dev/null
	echo "pglogical apply worker:                   $t_pgl s"
	cost_end
	psql_tgt -c "CHECKPOINT"
fi

if has_peer pgcopydb; then
	pgcopydb stream sentinel set apply --source "$SRC_URI" >/dev/null 2>&1
	settle
	cost_start
	start=$(now)
	pgcopydb follow --source "$SRC_URI" --target "$TGT_URI_PCD" --dir "$BENCH_DIR/pgcopydb" \
		--resume --not-consistent --endpos "$end_lsn" >"$BENCH_DIR/pgcopydb-follow.log" 2>&1 &
	pcd_pid=$!
	psql_tgt -d pcd -c "SET statement_timeout = '${PGCOPYDB_TIMEOUT}s'" -c "$wait_marker" 2>/dev/null || pcd_done=false
	t_pcd=$(elapsed "$start")
	if $pcd_done; then
		echo "pgcopydb follow:                          $t_pcd s"
		# the marker is applied; pgcopydb 0.10 may still wait for a
		# record past --endpos that never comes: 30 s, then stop it
		for i in $(seq 1 300); do kill -0 $pcd_pid 2>/dev/null || break; sleep 0.1; done
		pcd_pids="$pcd_pid $(pgrep -P "$pcd_pid" | tr '\n' ' ')"
		kill -TERM $pcd_pids 2>/dev/null || true
		wait $pcd_pid || true
	else
		# how far it got, read before it is stopped (stopping may take a while)
		startpos=$(sed -n 's/.*at LSN \([0-9A-F]*\/[0-9A-F]*\).*/\1/p' "$BENCH_DIR/pgcopydb-setup.log" | head -1)
		frac=$(psql_tgt -d pcd -At -c "SELECT round(100 * pg_wal_lsn_diff(pg_replication_origin_progress('pgcopydb', false), '$startpos')
			/ pg_wal_lsn_diff('$end_lsn', '$startpos'))")
		# pgcopydb waits for its replay process after SIGTERM: give both
		# 10 s, then kill them (by process id: the command and its children)
		pcd_pids="$pcd_pid $(pgrep -P "$pcd_pid" | tr '\n' ' ')"
		kill -TERM $pcd_pids 2>/dev/null || true
		for i in $(seq 1 100); do kill -0 $pcd_pids 2>/dev/null || break; sleep 0.1; done
		kill -KILL $pcd_pids 2>/dev/null || true
		wait $pcd_pid || true
		echo "pgcopydb follow:                          not done after $t_pcd s (stopped; $frac % of the WAL replayed: about $(awk -v t="$t_pcd" -v f="$frac" 'BEGIN { if (f > 0) printf "%.0f", t * 100 / f; else print "?" }') s for all of it)"
	fi
	cost_end
fi

# exactly once: every copy holds exactly the source's rows
q="SELECT count(*) || ' ' || md5(string_agg(t::text, ',' ORDER BY id)) FROM %s.t t"
s=$(psql_src -At -c "$(printf "$q" public)")
ok=true
# a mismatch of ours fails the benchmark; a peer's is reported
check()
{
	local got
	got=$(psql_tgt -d "$1" -At -c "$(printf "$q" "$2")")
	if [ "$got" = "$s" ]; then
		echo "check $1: $got (equal)"
	elif [[ $1 == ours_* ]]; then
		echo "check $1: $got MISMATCH"
		ok=false
	else
		echo "check $1: $got MISMATCH (the peer does not hold the source's rows)"
	fi
}
echo "check source: $s"
for j in $APPLY_JOBS; do check "ours_$j" bench; done
has_peer native && check native public
has_peer pglogical && check pgl public
has_peer pgcopydb && $pcd_done && check pcd public
$ok || { echo "MISMATCH"; exit 1; }

for j in $APPLY_JOBS; do
	t_j=${t_ours[$j]}
	echo "--apply-jobs $j:"
	[ -n "$t_native" ] && echo "  ratio native / migration-split:    $(ratio "$t_native" "$t_j") (goal >= 2.0)"
	[ -n "$t_pgl" ] && echo "  ratio pglogical / migration-split: $(ratio "$t_pgl" "$t_j") (goal >= 2.0)"
	if [ -n "$t_pcd" ]; then
		if $pcd_done; then
			echo "  ratio pgcopydb / migration-split:  $(ratio "$t_pcd" "$t_j") (goal >= 2.0)"
		else
			echo "  ratio pgcopydb / migration-split:  more than $(ratio "$t_pcd" "$t_j") (goal >= 2.0)"
		fi
	fi
done
exit 0
