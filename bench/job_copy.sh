#!/bin/bash
# Benchmark (a) of the migration-split job: initial copy of a domain's
# tables with their data, primary keys, indexes and foreign keys, compared
# in the same run with
#   - pgcopydb clone --table-jobs JOBS --index-jobs JOBS, limited to the
#     same tables ([include-only-table] filter), without extensions, owners
#     and privileges (pgcopydb 0.10 from Debian 12)
#   - pg_dump -t ... | psql (schema, data, indexes and constraints, one
#     connection)
#   - one COPY ... TO STDOUT | COPY ... FROM STDIN pipe per table, all at
#     once, then the keys and indexes of every table at once, then the
#     foreign keys at once: the floor of a copy with JOBS >= TABLES
# Every method starts from an empty target database and ends with the same
# rows, primary keys, indexes and validated foreign keys (checked after
# the timings).  Statistics differ: init ANALYZEs each table, pgcopydb 0.10
# runs VACUUM ANALYZE on each (it cannot be told not to), pg_dump | psql and
# the raw pipes gather none.
#
#   SIZE=2GB JOBS=4 PG_CONFIG=... bash bench/job_copy.sh
#
# The domain: TABLES tables t1 .. tN (default 4) of SIZE in total (default
# 2GB): id bigint primary key, a int referencing k(id), b text, c
# timestamptz with an index, d numeric; and k, 1000 rows.  Prints one line
# per method, where the time went (init's "phases:" line and pgcopydb's
# own step timings; the raw pipes timed per phase), and the ratios.
# RAW=0 skips the raw pipes, PCD=0 pgcopydb, DUMP=0 pg_dump | psql.
# BEFORE=path of another migration-split binary (e.g. one built from main)
# runs that one's init too, first, into its own target database, for a
# before/after comparison in one run.  After each method, "cost:" says the CPU
# seconds used by the source's and the target's server processes (the
# postmaster's live and reaped children), by the client processes this
# script started (migration-split, pgcopydb, pg_dump, psql), the WAL bytes
# the target wrote and the checkpoints it made meanwhile.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/job_lib.sh"

SIZE=${SIZE:-2GB}
TABLES=${TABLES:-4}
JOBS=${JOBS:-4}
RAW=${RAW:-1}
PCD=${PCD:-1}
DUMP=${DUMP:-1}
bytes=$(parse_size "$SIZE")
rows=$((bytes / TABLES / 130))
export PATH="$BIN:$PATH"

bench_start_clusters
trap bench_stop_clusters EXIT

echo "generating $TABLES tables of $rows rows (~$SIZE in total) on the source"
psql_src -c "CREATE EXTENSION migration_split" \
	-c "INSERT INTO migration_split.domains (domain) VALUES ('bench')"
schema_sql="CREATE TABLE k (id int NOT NULL, name text);"
keys_sql=()		# per table: primary key and index
fks_sql=()		# per table: foreign key
tables=()
for i in $(seq 1 "$TABLES"); do
	tables+=("t$i")
	schema_sql+="CREATE TABLE t$i (id bigint NOT NULL, a int NOT NULL, b text, c timestamptz, d numeric(12,2));"
	keys_sql+=("ALTER TABLE t$i ADD PRIMARY KEY (id); CREATE INDEX t${i}_c ON t$i (c);")
	fks_sql+=("ALTER TABLE t$i ADD CONSTRAINT t${i}_a_fkey FOREIGN KEY (a) REFERENCES k (id);")
done
psql_src -c "$schema_sql" -c "INSERT INTO k SELECT i, 'k' || i FROM generate_series(0, 999) i" -c "ALTER TABLE k ADD PRIMARY KEY (id)"
for t in "${tables[@]}"; do
	psql_src -c "INSERT INTO $t SELECT i, i % 1000, md5(i::text) || md5((i + 1)::text), now() - i * interval '1 s', i / 100.0 FROM generate_series(1, $rows) i" &
done
wait
for i in $(seq 1 "$TABLES"); do
	psql_src -c "${keys_sql[$((i - 1))]}" -c "${fks_sql[$((i - 1))]}" &
done
wait
psql_src -c "INSERT INTO migration_split.ownership (rel, domain) SELECT t::regclass, 'bench' FROM unnest(array['k', $(printf "'%s'," "${tables[@]}" | sed 's/,$//')]) t"
psql_src -c "VACUUM ANALYZE" -c "CHECKPOINT"
psql_src -At -c "SELECT 'source size: ' || pg_size_pretty(sum(pg_table_size(rel))) || ' of tables, ' || pg_size_pretty(sum(pg_indexes_size(rel))) || ' of indexes' FROM migration_split.ownership"

for db in ours pcd dump raw; do psql_tgt -c "CREATE DATABASE $db"; done
# every method writes about 1.15x SIZE of WAL on the target (the rows and
# the indexes): segments for it, so that the first method does not create
# them for the others
bench_warm_wal tgt $((bytes * 5 / 4 / 1048576))

# 0. another build's init, for comparison
if [ -n "${BEFORE:-}" ]; then
	psql_tgt -c "CREATE DATABASE before"
	cost_start
	start=$(now)
	"$BEFORE" init --source "$SRC" --target "$TGT dbname=before" --domain bench \
		--slot migration_split_before --jobs "$JOBS" --no-progress >"$BENCH_DIR/before.out"
	t_before=$(elapsed "$start")
	echo "BEFORE's init --jobs $JOBS:                        $t_before s"
	sed -n 's/^phases: /  phases: /p' "$BENCH_DIR/before.out"
	cost_end
	psql_src -c "SELECT pg_drop_replication_slot('migration_split_before')" >/dev/null
	psql_tgt -c "CHECKPOINT"
fi

# 1. migration-split init
cost_start
start=$(now)
"$BIN/migration-split" init --source "$SRC" --target "$TGT dbname=ours" --domain bench \
	--jobs "$JOBS" --no-progress >"$BENCH_DIR/init.out"
t_ours=$(elapsed "$start")
echo "migration-split init --jobs $JOBS:                     $t_ours s"
sed -n 's/^phases: /  phases: /p' "$BENCH_DIR/init.out"
cost_end
psql_tgt -c "CHECKPOINT"

# 2. pgcopydb clone of the same tables
if [ "$PCD" = 1 ]; then
	printf '[include-only-table]\npublic.k\n' >"$BENCH_DIR/pgcopydb.filters"
	printf 'public.%s\n' "${tables[@]}" >>"$BENCH_DIR/pgcopydb.filters"
	rm -rf "$BENCH_DIR/pgcopydb"
	cost_start
	start=$(now)
	pgcopydb clone --source "postgresql://postgres@/postgres?host=$BENCH_DIR&port=$SRC_PORT" \
		--target "postgresql://postgres@/pcd?host=$BENCH_DIR&port=$TGT_PORT" --dir "$BENCH_DIR/pgcopydb" \
		--table-jobs "$JOBS" --index-jobs "$JOBS" --filters "$BENCH_DIR/pgcopydb.filters" \
		--skip-extensions --no-owner --no-acl >"$BENCH_DIR/pgcopydb.log" 2>&1
	t_pcd=$(elapsed "$start")
	echo "pgcopydb clone --table-jobs $JOBS --index-jobs $JOBS:   $t_pcd s"
	# its own summary: one line per step with its duration
	awk '/Step +Connection +Duration/ { on = 1 } on && !/^ *-+/ && NF { print "  " $0 } /Total Wall Clock/ { on = 0 }' "$BENCH_DIR/pgcopydb.log"
	cost_end
	psql_tgt -c "CHECKPOINT"
fi

# 3. pg_dump | psql
if [ "$DUMP" = 1 ]; then
	cost_start
	start=$(now)
	targs=(-t public.k)
	for t in "${tables[@]}"; do targs+=(-t "public.$t"); done
	"$BIN/pg_dump" -h "$BENCH_DIR" -p "$SRC_PORT" -U postgres --no-owner --no-acl "${targs[@]}" postgres |
		psql_tgt -d dump >/dev/null
	t_dump=$(elapsed "$start")
	echo "pg_dump | psql:                                $t_dump s"
	cost_end
	psql_tgt -c "CHECKPOINT"
fi

# 4. raw COPY pipes, one per table, all at once; then keys and indexes at
# once; then foreign keys at once
if [ "$RAW" = 1 ]; then
	psql_tgt -d raw -c "$schema_sql"
	cost_start
	start=$(now)
	for t in k "${tables[@]}"; do
		psql_src -c "COPY $t TO STDOUT (FORMAT binary)" | psql_tgt -d raw -c "COPY $t FROM STDIN (FORMAT binary)" &
	done
	wait
	t1=$(now)
	for i in $(seq 1 "$TABLES"); do psql_tgt -d raw -c "${keys_sql[$((i - 1))]}" & done
	psql_tgt -d raw -c "ALTER TABLE k ADD PRIMARY KEY (id)"
	wait
	t2=$(now)
	for i in $(seq 1 "$TABLES"); do psql_tgt -d raw -c "${fks_sql[$((i - 1))]}" & done
	wait
	t_raw=$(elapsed "$start")
	echo "COPY | COPY, one pipe per table at once:       $t_raw s"
	echo "  phases: COPY $(awk -v a="$t1" -v b="$start" 'BEGIN { printf "%.2f", a - b }') s, keys and indexes $(awk -v a="$t2" -v b="$t1" 'BEGIN { printf "%.2f", a - b }') s, foreign keys $(elapsed "$t2") s"
	cost_end
fi

# the same rows, keys, indexes and validated foreign keys everywhere
ok=true
ref=""
for db in ours pcd dump raw; do
	[ "$db" = raw ] && [ "$RAW" != 1 ] && continue
	[ "$db" = pcd ] && [ "$PCD" != 1 ] && continue
	[ "$db" = dump ] && [ "$DUMP" != 1 ] && continue
	schema=public; [ "$db" = ours ] && schema=bench
	sum=""
	for t in k "${tables[@]}"; do
		sum+=$(psql_tgt -d "$db" -At -c "SELECT count(*) || ':' || sum(hashtext(t::text)::bigint) FROM $schema.$t t")" "
	done
	sum+=$(psql_tgt -d "$db" -At -c "SELECT 'constraints ' || string_agg(contype::text || ':' || convalidated, ',' ORDER BY conrelid::regclass::text, contype) || ' indexes ' || (SELECT count(*) FROM pg_index WHERE indrelid IN (SELECT c.oid FROM pg_class c WHERE c.relnamespace = '$schema'::regnamespace))
		FROM pg_constraint WHERE connamespace = '$schema'::regnamespace")
	echo "check $db: $sum"
	[ -z "$ref" ] && ref=$sum
	[ "$sum" = "$ref" ] || ok=false
done
$ok || { echo "MISMATCH"; exit 1; }

[ -n "${BEFORE:-}" ] && echo "ratio BEFORE / migration-split:         $(ratio "$t_before" "$t_ours")"
[ "$PCD" = 1 ] && echo "ratio pgcopydb / migration-split:       $(ratio "$t_pcd" "$t_ours") (goal >= 1.3)"
[ "$DUMP" = 1 ] && echo "ratio pg_dump|psql / migration-split:   $(ratio "$t_dump" "$t_ours") (goal > 1.0)"
[ "$RAW" = 1 ] && echo "ratio migration-split / raw COPY pipes: $(ratio "$t_ours" "$t_raw") (goal <= 1.2)"
exit 0
