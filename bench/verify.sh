#!/bin/bash
# Benchmark of migration-split verify on the domain of bench/job_copy.sh
# (TABLES tables of SIZE in total), with "stream" running, compared with
#   - the floor: COPY (SELECT * FROM t) TO STDOUT of every table on both
#     sides at once, into /dev/null (reading everything once per side);
#   - a client-side compare: both sides fetched in key order (COPY (SELECT
#     * FROM t ORDER BY id) TO STDOUT, pinned output settings) and compared
#     byte by byte with cmp, every table at once;
# then 100 rows changed, deleted or inserted at random on the target, which
# verify must report, every one.
#
#   SIZE=2GB TABLES=4 JOBS=4 PG_CONFIG=... bash bench/verify.sh
#
# Prints the times, the ratios against the goals and rows per second per
# core.
here=$(cd "$(dirname "$0")" && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/ms_verify_bench}
BENCH_PORT=${BENCH_PORT:-55430}
. "$here/job_lib.sh"

SIZE=${SIZE:-2GB}
TABLES=${TABLES:-4}
JOBS=${JOBS:-4}
bytes=$(parse_size "$SIZE")
rows=$((bytes / TABLES / 130))
cores=$(nproc)

stream_pid=
cleanup()
{
	if [ -n "$stream_pid" ]; then kill "$stream_pid" 2>/dev/null || true; wait "$stream_pid" 2>/dev/null || true; fi
	bench_stop_clusters
}
bench_start_clusters
trap cleanup EXIT

echo "generating $TABLES tables of $rows rows (~$SIZE in total) on the source"
psql_src -c "CREATE EXTENSION migration_split" \
	-c "INSERT INTO migration_split.domains (domain) VALUES ('bench')"
tables=()
for i in $(seq 1 "$TABLES"); do
	tables+=("t$i")
	psql_src -c "CREATE TABLE t$i (id bigint NOT NULL, a int, b text, c timestamptz, d numeric(12,2))"
done
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
total_rows=$((rows * TABLES))

"$BIN/migration-split" init --source "$SRC" --target "$TGT" --domain bench --jobs "$JOBS" \
	--no-progress >"$BENCH_DIR/init.out"
psql_tgt -c "VACUUM ANALYZE" -c "CHECKPOINT"
"$BIN/migration-split" stream --source "$SRC" --target "$TGT" --domain bench \
	>"$BENCH_DIR/stream.log" 2>&1 &
stream_pid=$!

# warm both caches the same way for every method: one untimed floor run
# (waits for its own processes only: the stream runs in the background too)
floor()
{
	local pids=()
	for t in "${tables[@]}"; do
		psql_src -c "COPY (SELECT * FROM $t) TO STDOUT" >/dev/null &
		pids+=($!)
		psql_tgt -c "COPY (SELECT * FROM bench.$t) TO STDOUT" >/dev/null &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
}
floor

# 1. the floor
start=$(now)
floor
t_floor=$(elapsed "$start")
echo "floor: COPY of every table, both sides at once:   $t_floor s"

# 2. verify, equal
start=$(now)
rc=0
"$BIN/migration-split" verify --source "$SRC" --target "$TGT" --domain bench --jobs "$JOBS" \
	--no-progress >"$BENCH_DIR/verify_equal.out" 2>&1 || rc=$?
t_equal=$(elapsed "$start")
[ "$rc" -eq 0 ] || { echo "verify of equal data exited $rc"; cat "$BENCH_DIR/verify_equal.out"; exit 1; }
echo "migration-split verify --jobs $JOBS, equal:          $t_equal s"

# 3. client-side compare in key order
start=$(now)
export PGOPTIONS="-c extra_float_digits=3 -c TimeZone=UTC -c DateStyle=ISO,YMD"
pids=()
for t in "${tables[@]}"; do
	cmp <(psql_src -c "COPY (SELECT * FROM $t ORDER BY id) TO STDOUT") \
		<(psql_tgt -c "COPY (SELECT * FROM bench.$t ORDER BY id) TO STDOUT") >/dev/null &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || { echo "client compare found a difference"; exit 1; }; done
unset PGOPTIONS
t_client=$(elapsed "$start")
echo "client compare (key order, cmp), every table:     $t_client s"

# 4. 100 random differences on the target: 34 changed, 33 deleted, 33 inserted
changed=0; deleted=0; inserted=0
while [ $((changed + deleted + inserted)) -lt 100 ]; do
	t=${tables[$((RANDOM % TABLES))]}
	id=$(( (RANDOM * 32768 + RANDOM) % rows + 1 ))
	if [ $changed -lt 34 ]; then
		n=$(psql_tgt -At -c "WITH u AS (UPDATE bench.$t SET a = a + 1 WHERE id = $id AND a >= 0 RETURNING 1) SELECT count(*) FROM u")
		changed=$((changed + n))
	elif [ $deleted -lt 33 ]; then
		n=$(psql_tgt -At -c "WITH d AS (DELETE FROM bench.$t WHERE id = $id AND a >= 0 RETURNING 1) SELECT count(*) FROM d")
		deleted=$((deleted + n))
	else
		psql_tgt -c "INSERT INTO bench.$t VALUES ($((rows + 1000 + inserted)), -1, 'extra', now(), 0)"
		inserted=$((inserted + 1))
	fi
done
start=$(now)
rc=0
"$BIN/migration-split" verify --source "$SRC" --target "$TGT" --domain bench --jobs "$JOBS" \
	--no-progress --max-diffs 100 --json >"$BENCH_DIR/verify_diff.json" 2>"$BENCH_DIR/verify_diff.err" || rc=$?
t_diff=$(elapsed "$start")
[ "$rc" -eq 10 ] || { echo "verify with differences exited $rc"; cat "$BENCH_DIR/verify_diff.err"; exit 1; }
found=$(grep -o '"missing": [0-9]*, "extra": [0-9]*, "changed": [0-9]*' "$BENCH_DIR/verify_diff.json" |
	awk -F'[:,]' '{ m += $2; e += $4; c += $6 } END { printf "%d missing, %d extra, %d changed", m, e, c }')
echo "migration-split verify, 100 differences:          $t_diff s ($found; made: $deleted deleted, $inserted inserted, $changed changed)"
[ "$found" = "$deleted missing, $inserted extra, $changed changed" ] ||
	{ echo "verify did not report exactly the differences made"; exit 1; }

echo "ratio verify / floor:                  $(ratio "$t_equal" "$t_floor") (goal <= 1.5)"
echo "ratio client compare / verify:         $(ratio "$t_client" "$t_equal") (goal >= 3)"
echo "ratio verify with differences / equal: $(ratio "$t_diff" "$t_equal") (goal <= 1.2)"
echo "rows compared per second per core:     $(awk -v r="$total_rows" -v t="$t_equal" -v c="$cores" 'BEGIN { printf "%.0f", r / t / c }') ($total_rows rows per side, $cores cores shared by both servers and the client)"
