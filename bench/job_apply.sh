#!/bin/bash
# Benchmark (b) of the migration-split job: catch-up apply of CHANGES
# changed rows (inserts, updates, deletes in transactions of 1 to 100 rows)
# by "migration-split stream --until-caught-up", compared with PostgreSQL's
# own logical replication (CREATE SUBSCRIPTION to identical tables) catching
# up the same changes.  Both slots exist before the changes are made; each
# catch-up runs alone.
#
#   CHANGES=1000000 PG_CONFIG=... bash bench/job_apply.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/job_lib.sh"

CHANGES=${CHANGES:-1000000}
ROWS=${ROWS:-200000}
# stream runs once per number of apply workers (--apply-jobs), each into a
# database of its own with a slot of its own
APPLY_JOBS=${APPLY_JOBS:-"1 2 4"}

bench_start_clusters
trap bench_stop_clusters EXIT

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

# our job: init
psql_tgt -c "CREATE DATABASE native"
for n in $APPLY_JOBS; do
	psql_tgt -c "CREATE DATABASE ours_$n"
	"$BIN/migration-split" init --source "$SRC" --target "$TGT dbname=ours_$n" --domain bench \
		--slot "migration_split_bench_$n" --no-progress >/dev/null
done

# native: subscription, initial sync, then disabled
psql_tgt -d native -c "$table_sql" -c "CREATE TABLE done (id int PRIMARY KEY)" \
	-c "CREATE SUBSCRIPTION sub CONNECTION 'host=$BENCH_DIR port=$SRC_PORT user=postgres dbname=postgres' PUBLICATION pub"
until [ "$(psql_tgt -d native -At -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'")" = 0 ]; do sleep 0.5; done
psql_tgt -d native -c "ALTER SUBSCRIPTION sub DISABLE"
until [ "$(psql_src -At -c "SELECT count(*) FROM pg_replication_slots WHERE active")" = 0 ]; do sleep 0.2; done

echo "making $CHANGES changes on the source"
start=$(now)
psql_src -c "CALL gen($CHANGES)"
echo "  took $(elapsed "$start") s"
psql_src -c "INSERT INTO done VALUES (1)"   # the marker, after the whole workload
end_lsn=$(psql_src -At -c "SELECT pg_current_wal_lsn()")
psql_src -At -c "SELECT 'WAL to decode: ' || pg_size_pretty(pg_wal_lsn_diff('$end_lsn', confirmed_flush_lsn)) FROM pg_replication_slots WHERE slot_name = 'sub'"
psql_src -c "CHECKPOINT"; psql_tgt -c "CHECKPOINT"

declare -A t_ours
for n in $APPLY_JOBS; do
	start=$(now)
	"$BIN/migration-split" stream --source "$SRC" --target "$TGT dbname=ours_$n" --domain bench --until-caught-up \
		--apply-jobs "$n" --status-interval 0 2>"$BENCH_DIR/stream_$n.err"
	t_ours[$n]=$(elapsed "$start")
	echo "migration-split stream --until-caught-up --apply-jobs $n: ${t_ours[$n]} s"
	psql_tgt -c "CHECKPOINT"
done

# Completion of the native apply worker: it reports its position lazily (up
# to wal_receiver_status_interval), so watch for a marker row instead.  The
# marker is committed on the source after the whole workload and the apply
# worker applies in commit order, so the marker's arrival means everything
# before it was applied.  The wait is one DO block in one target backend
# that looks at the one-row marker table every 20 ms (a few microseconds
# each): it does not compete with the apply worker for the CPU, as a
# fingerprint of the whole table (1.0's method) did.
wait_marker="DO \$\$ BEGIN WHILE NOT EXISTS (SELECT FROM public.done) LOOP PERFORM pg_sleep(0.02); END LOOP; END \$\$"
# The clock starts when the apply worker starts (its backend_start), not at
# ENABLE: the launcher takes seconds to start it, which is not apply work.
psql_tgt -d native -c "ALTER SUBSCRIPTION sub ENABLE"
psql_tgt -d native -c "$wait_marker"
t_native=$(psql_tgt -d native -At -c "SELECT round(extract(epoch FROM clock_timestamp() - backend_start)::numeric, 2)
	FROM pg_catalog.pg_stat_activity WHERE backend_type = 'logical replication worker'")
echo "CREATE SUBSCRIPTION apply worker:         $t_native s"

q="SELECT count(*) || ' ' || md5(string_agg(t::text, ',' ORDER BY id)) FROM %s.t t"
s=$(psql_src -At -c "$(printf "$q" public)")
n=$(psql_tgt -d native -At -c "$(printf "$q" public)")
echo "check: source $s / native $n"
[ "$s" = "$n" ] || { echo "MISMATCH"; exit 1; }
for j in $APPLY_JOBS; do
	o=$(psql_tgt -d "ours_$j" -At -c "$(printf "$q" bench)")
	echo "check: ours (--apply-jobs $j) $o"
	[ "$s" = "$o" ] || { echo "MISMATCH"; exit 1; }
done
for j in $APPLY_JOBS; do
	echo "ratio native / migration-split --apply-jobs $j: $(ratio "$t_native" "${t_ours[$j]}") (goal >= 2.0)"
done
