#!/bin/bash
# Benchmark (a) of the migration-split job: initial copy of a domain's
# tables, compared with
#   - pg_dump --data-only -t ... | psql            (then primary keys)
#   - one COPY ... TO STDOUT | COPY ... FROM STDIN pipe per table, all tables
#     at once (then primary keys, also at once)
# Every method ends with the same data and primary keys on the target.
#
#   SIZE=2GB JOBS=4 PG_CONFIG=... bash bench/job_copy.sh
#
# SIZE is the total size of the domain's tables on the source (default 2GB),
# split over TABLES tables (default 4).  Prints one line per method and the
# ratios.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/job_lib.sh"

SIZE=${SIZE:-2GB}
TABLES=${TABLES:-4}
JOBS=${JOBS:-4}
bytes=$(parse_size "$SIZE")
rows=$((bytes / TABLES / 130))

bench_start_clusters
trap bench_stop_clusters EXIT

echo "generating $TABLES tables of $rows rows (~$SIZE in total) on the source"
psql_src -c "CREATE EXTENSION migration_split" \
	-c "INSERT INTO migration_split.domains (domain) VALUES ('bench')"
schema_sql=""
tables=()
for i in $(seq 1 "$TABLES"); do
	tables+=("t$i")
	schema_sql+="CREATE TABLE t$i (id bigint NOT NULL, a int, b text, c timestamptz, d numeric(12,2));"
done
psql_src -c "$schema_sql"
for t in "${tables[@]}"; do
	psql_src -c "INSERT INTO $t SELECT i, i % 1000, md5(i::text) || md5((i + 1)::text), now() - i * interval '1 s', i / 100.0 FROM generate_series(1, $rows) i" &
done
wait
for t in "${tables[@]}"; do
	psql_src -c "ALTER TABLE $t ADD PRIMARY KEY (id)" \
		-c "INSERT INTO migration_split.ownership (rel, domain) VALUES ('$t', 'bench')"
done
psql_src -c "VACUUM ANALYZE" -c "CHECKPOINT"
psql_src -At -c "SELECT 'source size: ' || pg_size_pretty(sum(pg_table_size(rel))) FROM migration_split.ownership"

for db in ours dump raw; do psql_tgt -c "CREATE DATABASE $db"; done
psql_tgt -d dump -c "$schema_sql"
psql_tgt -d raw -c "$schema_sql"
psql_tgt -c "CHECKPOINT"

# 1. migration-split init
start=$(now)
"$BIN/migration-split" init --source "$SRC" --target "$TGT dbname=ours" --domain bench \
	--jobs "$JOBS" --no-progress >"$BENCH_DIR/init.out"
t_ours=$(elapsed "$start")
echo "migration-split init --jobs $JOBS:       $t_ours s"
psql_tgt -c "CHECKPOINT"

# 2. pg_dump --data-only | psql, then keys
start=$(now)
targs=()
for t in "${tables[@]}"; do targs+=(-t "public.$t"); done
"$BIN/pg_dump" -h "$BENCH_DIR" -p "$SRC_PORT" -U postgres --data-only "${targs[@]}" postgres |
	psql_tgt -d dump >/dev/null
for t in "${tables[@]}"; do psql_tgt -d dump -c "ALTER TABLE $t ADD PRIMARY KEY (id)"; done
t_dump=$(elapsed "$start")
echo "pg_dump --data-only | psql:          $t_dump s"
psql_tgt -c "CHECKPOINT"

# 3. raw COPY pipes, one per table, all at once; then keys, all at once
start=$(now)
for t in "${tables[@]}"; do
	psql_src -c "COPY $t TO STDOUT" | psql_tgt -d raw -c "COPY $t FROM STDIN" &
done
wait
for t in "${tables[@]}"; do psql_tgt -d raw -c "ALTER TABLE $t ADD PRIMARY KEY (id)" & done
wait
t_raw=$(elapsed "$start")
echo "COPY | COPY, one pipe per table:     $t_raw s"

# same data everywhere
for db in ours dump raw; do
	schema=public; [ "$db" = ours ] && schema=bench
	sum=""
	for t in "${tables[@]}"; do
		sum+=$(psql_tgt -d "$db" -At -c "SELECT count(*) || ':' || sum(hashtext(b)::bigint) FROM $schema.$t")" "
	done
	echo "check $db: $sum"
done

echo "ratio pg_dump|psql / migration-split: $(ratio "$t_dump" "$t_ours") (goal >= 1.5)"
echo "ratio migration-split / raw COPY pipe: $(ratio "$t_ours" "$t_raw") (goal <= 1.2)"
