#!/bin/bash
# Benchmark of migration-split verify on the domain of bench/job_copy.sh
# (TABLES tables of SIZE in total), with "stream" running, compared with
#   - the floor: COPY (SELECT * FROM t) TO STDOUT of every table on both
#     sides at once, into /dev/null (reading everything once per side);
#   - a client-side compare: both sides fetched in key order (COPY (SELECT
#     * FROM t ORDER BY id) TO STDOUT, pinned output settings) and compared
#     byte by byte with cmp, every table at once (the fastest client compare
#     there is: no parsing, and it stops at the first difference instead of
#     listing them);
# then 100 rows changed, deleted or inserted at random on the target, which
# verify must report, every one.
#
#   SIZE=2GB TABLES=4 JOBS=4 REPEAT=2 PG_CONFIG=... bash bench/verify.sh
#
# Each method runs REPEAT times; the smallest elapsed and CPU times count.
# Prints, for each, the elapsed time and the CPU time of both servers'
# backends and of the client processes (the postmasters' and this script's
# reaped children; the stream running in the background is not counted),
# the ratios against the goals in both, and rows per second per core.  On a
# machine shared with other work the CPU ratios are the steadier ones.
here=$(cd "$(dirname "$0")" && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/ms_verify_bench}
BENCH_PORT=${BENCH_PORT:-55430}
. "$here/job_lib.sh"

SIZE=${SIZE:-2GB}
TABLES=${TABLES:-4}
JOBS=${JOBS:-4}
REPEAT=${REPEAT:-2}
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

# CPU seconds so far of both servers' exited backends and of this script's
# exited children
cpu_now()
{
	local ticks=0 node pid
	sleep 0.5	# the postmasters reap their backends
	for node in src tgt; do
		pid=$(head -1 "$BENCH_DIR/$node/postmaster.pid")
		ticks=$((ticks + $(awk '{ print $16 + $17 }' "/proc/$pid/stat")))
	done
	ticks=$((ticks + $(awk '{ print $16 + $17 }' /proc/$$/stat)))
	awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
cpu_since() { awk -v a="$(cpu_now)" -v b="$1" 'BEGIN { printf "%.2f", a - b }'; }

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

# run "$@" REPEAT times; m_t and m_c: the smallest elapsed and CPU seconds
measure()
{
	local i t c cpu start
	m_t=; m_c=
	for i in $(seq 1 "$REPEAT"); do
		cpu=$(cpu_now)
		start=$(now)
		"$@"
		t=$(elapsed "$start")
		c=$(cpu_since "$cpu")
		m_t=$(awk -v a="$t" -v b="${m_t:-$t}" 'BEGIN { print (a < b ? a : b) }')
		m_c=$(awk -v a="$c" -v b="${m_c:-$c}" 'BEGIN { print (a < b ? a : b) }')
	done
}

# 1. the floor
measure floor
t_floor=$m_t; c_floor=$m_c
echo "floor: COPY of every table, both sides at once:   $t_floor s (CPU $c_floor s)"

# 2. verify, equal
verify_equal()
{
	local rc=0
	"$BIN/migration-split" verify --source "$SRC" --target "$TGT" --domain bench --jobs "$JOBS" \
		--no-progress >"$BENCH_DIR/verify_equal.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || { echo "verify of equal data exited $rc"; cat "$BENCH_DIR/verify_equal.out"; exit 1; }
}
measure verify_equal
t_equal=$m_t; c_equal=$m_c
echo "migration-split verify --jobs $JOBS, equal:          $t_equal s (CPU $c_equal s)"

# 3. client-side compare in key order; every process waited for, so that
# its CPU time is counted
compare_table()
{
	local t=$1 dir="$BENCH_DIR/cmp_$1" rc=0
	rm -rf "$dir"; mkdir "$dir"; mkfifo "$dir/s" "$dir/t"
	psql_src -c "COPY (SELECT * FROM $t ORDER BY id) TO STDOUT" >"$dir/s" &
	local ps=$!
	psql_tgt -c "COPY (SELECT * FROM bench.$t ORDER BY id) TO STDOUT" >"$dir/t" &
	local pt=$!
	cmp "$dir/s" "$dir/t" >/dev/null || rc=$?
	wait "$ps" || true
	wait "$pt" || true
	rm -rf "$dir"
	return $rc
}
client_compare()
{
	local pids=() p t
	export PGOPTIONS="-c extra_float_digits=3 -c TimeZone=UTC -c DateStyle=ISO,YMD"
	for t in "${tables[@]}"; do
		compare_table "$t" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || { echo "client compare found a difference"; exit 1; }; done
	unset PGOPTIONS
}
measure client_compare
t_client=$m_t; c_client=$m_c
echo "client compare (key order, cmp), every table:     $t_client s (CPU $c_client s)"

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
verify_diff()
{
	local rc=0
	"$BIN/migration-split" verify --source "$SRC" --target "$TGT" --domain bench --jobs "$JOBS" \
		--no-progress --max-diffs 100 --json >"$BENCH_DIR/verify_diff.json" 2>"$BENCH_DIR/verify_diff.err" || rc=$?
	[ "$rc" -eq 10 ] || { echo "verify with differences exited $rc"; cat "$BENCH_DIR/verify_diff.err"; exit 1; }
}
measure verify_diff
t_diff=$m_t; c_diff=$m_c
found=$(grep -o '"missing": [0-9]*, "extra": [0-9]*, "changed": [0-9]*' "$BENCH_DIR/verify_diff.json" |
	awk -F'[:,]' '{ m += $2; e += $4; c += $6 } END { printf "%d missing, %d extra, %d changed", m, e, c }')
echo "migration-split verify, 100 differences:          $t_diff s (CPU $c_diff s; $found; made: $deleted deleted, $inserted inserted, $changed changed)"
fetched=$(grep -o '"rows_fetched": [0-9]*' "$BENCH_DIR/verify_diff.json" | awk '{ n += $2 } END { print n + 0 }')
echo "rows whose key and hash were fetched:  $fetched (both sides, all tables)"
[ "$found" = "$deleted missing, $inserted extra, $changed changed" ] ||
	{ echo "verify did not report exactly the differences made"; exit 1; }

echo "each method run $REPEAT times, the smallest times taken"
echo "load average at the end:               $(cut -d' ' -f1-3 /proc/loadavg) ($cores cores)"
echo "ratio verify / floor:                  $(ratio "$t_equal" "$t_floor") elapsed, $(ratio "$c_equal" "$c_floor") CPU (goal <= 1.5)"
echo "ratio client compare / verify:         $(ratio "$t_client" "$t_equal") elapsed, $(ratio "$c_client" "$c_equal") CPU (goal >= 3)"
echo "ratio verify with differences / equal: $(ratio "$t_diff" "$t_equal") elapsed, $(ratio "$c_diff" "$c_equal") CPU (goal <= 1.2)"
echo "rows compared per second per core:     $(awk -v r="$total_rows" -v t="$t_equal" -v c="$cores" 'BEGIN { printf "%.0f", r / t / c }') elapsed ($total_rows rows per side, $cores cores shared by both servers and the client); $(awk -v r="$total_rows" -v c="$c_equal" 'BEGIN { printf "%.0f", r / c }') per CPU second"

