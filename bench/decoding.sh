#!/bin/bash
# Benchmark of the migration_split output plugin against pgoutput,
# test_decoding and wal2json, on a temporary cluster of its own.
#
#   bash bench/decoding.sh                 # 1M inserts + 0.5M updates
#   SCALE=0.1 bash bench/decoding.sh       # a tenth of that, while developing
#
# Environment: PG_CONFIG (default pg_config on PATH), PORT (55310), DIR
# (/tmp/migration_split_bench), SCALE (1), REPEAT (2: every decoding runs
# that many times, alternating the order of the plugins; the best time is
# reported, so that neither the order nor a neighbour's load decides).  Runs PostgreSQL as "postgres"
# when started as root.  Results go to bench/results/decoding-<time>.txt
# (and stdout).
#
# Workload A (throughput): 1M inserts and 0.5M updates on a 5-column table
# owned by domain "bench", in transactions of 1000 rows.
# Every plugin decodes the same WAL through a walsender, as pg_recvlogical
# (the same path as the replication job), output to /dev/null:
#   migration_split   domain=bench
#   pgoutput          proto_version 1, a publication with the table
#   test_decoding     skip-empty-xacts
#   wal2json          format-version 2
# Workload B (filtering): 90% of the changes on a table of another domain,
# 10% on the domain's table; migration_split against the floor, pgoutput
# with a publication that contains neither table (it sends nothing).  Also
# migration_split for a domain that owns neither table: the cost of the
# filtering alone, without the 10% of changes to send.
# For each run: wall time of the decoding, and the walsender's peak resident
# memory (VmHWM from /proc, sampled while it runs).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
BINDIR=$($PG_CONFIG --bindir)
PORT=${PORT:-55310}
DIR=${DIR:-/tmp/migration_split_bench}
SCALE=${SCALE:-1}
REPEAT=${REPEAT:-2}
INSERTS=$(awk -v s="$SCALE" 'BEGIN { printf "%d", 1000000 * s }')
UPDATES=$(( INSERTS / 2 ))
BATCH=1000

runas=()
if [ "$(id -u)" -eq 0 ]; then
	runas=(runuser -u postgres --)
fi
run() { "${runas[@]}" "$@"; }
psql_() { run "$BINDIR/psql" -h "$DIR" -p "$PORT" -d postgres -XAtq -v ON_ERROR_STOP=1 "$@"; }

mkdir -p "$top/bench/results"
results="$top/bench/results/decoding-$(date -u +%Y%m%dT%H%M%SZ).txt"

cleanup() {
	if [ -f "$DIR/data/postmaster.pid" ]; then
		run "$BINDIR/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true
	fi
	rm -rf "$DIR"
}
trap cleanup EXIT

# The extension must be installed in this PostgreSQL.
if [ ! -f "$($PG_CONFIG --pkglibdir)/migration_split.so" ]; then
	echo "migration_split is not installed for $PG_CONFIG: run make install first" >&2
	exit 1
fi

rm -rf "$DIR"
mkdir -p "$DIR"
[ ${#runas[@]} -gt 0 ] && chown postgres: "$DIR"
run "$BINDIR/initdb" -D "$DIR/data" -A trust --no-sync >/dev/null
cat >>"$DIR/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$DIR'
port = $PORT
wal_level = logical
max_replication_slots = 40
max_wal_senders = 10
output_plugin_libraries = 'pgoutput, test_decoding, migration_split, wal2json'
shared_buffers = 256MB
max_wal_size = 8GB
synchronous_commit = off
fsync = off
full_page_writes = off
autovacuum = off
EOF
run "$BINDIR/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null

psql_ <<'EOF'
CREATE EXTENSION migration_split;
INSERT INTO migration_split.domains (domain) VALUES ('bench'), ('other'), ('other_service');
CREATE TABLE bench_t (id int PRIMARY KEY, qty int, label text, at timestamptz, price numeric(12,2));
CREATE TABLE other_t (id int PRIMARY KEY, qty int, label text, at timestamptz, price numeric(12,2));
INSERT INTO migration_split.ownership (rel, domain) VALUES ('bench_t', 'bench'), ('other_t', 'other');
CREATE PUBLICATION pub_bench FOR TABLE bench_t;
CREATE TABLE nothing_t (id int);
CREATE PUBLICATION pub_none FOR TABLE nothing_t;
-- Inserts, then updates, of one table, in transactions of batch rows.
CREATE PROCEDURE workload(tbl regclass, ninsert int, nupdate int, batch int, base int)
LANGUAGE plpgsql AS $$
DECLARE
	i int := 0;
BEGIN
	WHILE i < ninsert LOOP
		EXECUTE format('INSERT INTO %s SELECT g, g %% 97, ''label '' || g, ''2026-11-24 21:00+00''::timestamptz + g * interval ''1 second'', g / 7.0 FROM generate_series($1, $2) g', tbl)
			USING base + i + 1, base + least(i + batch, ninsert);
		COMMIT;
		i := i + batch;
	END LOOP;
	i := 0;
	WHILE i < nupdate LOOP
		EXECUTE format('UPDATE %s SET qty = qty + 1, label = label || ''!'' WHERE id BETWEEN $1 AND $2', tbl)
			USING base + i + 1, base + least(i + batch, nupdate);
		COMMIT;
		i := i + batch;
	END LOOP;
END
$$;
EOF

slot() { psql_ -c "SELECT 'ok' FROM pg_create_logical_replication_slot('$1', '$2')" >/dev/null; }

# Workload A
for r in $(seq "$REPEAT"); do
	for p in ms:migration_split pgo:pgoutput td:test_decoding w2j:wal2json; do
		slot "a_${p%%:*}_$r" "${p#*:}"
	done
done
psql_ -c "CALL workload('bench_t', $INSERTS, $UPDATES, $BATCH, 0)"
lsn_a=$(psql_ -c "SELECT pg_current_wal_insert_lsn()")

# Workload B: per 1000 changes, 900 on the other domain's table, 100 on ours
for r in $(seq "$REPEAT"); do
	slot "b_ms_$r" migration_split
	slot "b_none_$r" migration_split
	slot "b_floor_$r" pgoutput
done
psql_ -c "CALL workload('other_t', $(( INSERTS * 9 / 10 )), $(( UPDATES * 9 / 10 )), 900, 0)" &
psql_ -c "CALL workload('bench_t', $(( INSERTS / 10 )), $(( UPDATES / 10 )), 100, $INSERTS)"
wait
lsn_b=$(psql_ -c "SELECT pg_current_wal_insert_lsn()")
psql_ -c "CHECKPOINT"
wal_mb=$(psql_ -c "SELECT round(pg_wal_lsn_diff('$lsn_b', '0/0') / 1048576)")

# decode SLOT ENDPOS OPTIONS...: prints "seconds peak_kB cpu_seconds" (the
# walsender's CPU time is sampled every 0.1 s: its last 0.1 s may be missed)
decode() {
	local slot=$1 endpos=$2
	shift 2
	local opts=()
	for o in "$@"; do opts+=(-o "$o"); done
	local pid="" hwm=0 h cpu=0 c
	rm -f "$DIR/elapsed"
	(
		start=$(date +%s.%N)
		run "$BINDIR/pg_recvlogical" -h "$DIR" -p "$PORT" -d postgres -S "$slot" --start \
			--endpos="$endpos" --no-loop -f /dev/null -s 10 "${opts[@]}"
		end=$(date +%s.%N)
		awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }' >"$DIR/elapsed"
	) &
	local rpid=$!
	while kill -0 "$rpid" 2>/dev/null; do
		[ -z "$pid" ] && pid=$(psql_ -c "SELECT active_pid FROM pg_replication_slots WHERE slot_name = '$slot'" 2>/dev/null || true)
		if [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; then
			h=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
			[ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
			c=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || true)
			[ -n "$c" ] && cpu=$c
		fi
		sleep 0.1
	done
	wait "$rpid"
	echo "$(cat "$DIR/elapsed") $hwm $(awk -v c="$cpu" -v t="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", c / t }')"
}

{
	echo "migration_split decoding benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "PostgreSQL: $("$BINDIR/postgres" --version); $(nproc) cores"
	echo "workload A: $INSERTS inserts + $UPDATES updates of a 5-column table, $BATCH per transaction"
	echo "workload B: the same amount, 90% on another domain's table; WAL written: ${wal_mb} MB"
	echo
	printf "%-32s %8s %7s %12s %7s %15s\n" "plugin" "seconds" "ratio" "walsender CPU" "ratio" "walsender peak"
} | tee "$results"

line() {
	local name=$1 t=$2 kb=$3 cpu=$4 base=$5 basecpu=$6
	printf "%-32s %8s %7s %12s %7s %12s MB\n" "$name" "$t" \
		"$(awk -v a="$t" -v b="$base" 'BEGIN { printf "%.2fx", a / b }')" \
		"$cpu" "$(awk -v a="$cpu" -v b="$basecpu" 'BEGIN { printf "%.2fx", a / b }')" \
		"$(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }')" | tee -a "$results"
}

# plan KIND WORKLOAD ENDPOS OPTIONS...: decode the slots of plugin KIND for
# WORKLOAD, one per repetition (run_plan runs them all)
plan() {
	local kind=$1 w=$2 endpos=$3
	shift 3
	echo "$kind $w $endpos $*" >>"$DIR/plan"
}
run_plan() {
	local r line kind w endpos opts t kb c
	for r in $(seq "$REPEAT"); do
		if [ $(( r % 2 )) -eq 1 ]; then order=(cat); else order=(tac); fi
		while read -r kind w endpos opts; do
			# shellcheck disable=SC2086
			read -r t kb c < <(decode "${w}_${kind}_$r" "$endpos" $opts)
			echo "$w $kind $t $kb $c" >>"$DIR/times"
		done < <("${order[@]}" "$DIR/plan")
	done
}
rm -f "$DIR/plan" "$DIR/times"
plan ms a "$lsn_a" domain=bench include-xids=0
plan pgo a "$lsn_a" proto_version=1 publication_names=pub_bench
plan td a "$lsn_a" skip-empty-xacts=1
plan w2j a "$lsn_a" format-version=2
plan floor b "$lsn_b" proto_version=1 publication_names=pub_none
plan ms b "$lsn_b" domain=bench include-xids=0
plan none b "$lsn_b" domain=other_service include-xids=0
run_plan
# min time, min CPU, max peak of one plugin and workload
stat() { awk -v w="$1" -v k="$2" '$1 == w && $2 == k {
	if (t == "" || $3 < t) t = $3; if (c == "" || $5 < c) c = $5; if ($4 > m) m = $4 }
	END { print t, m, c }' "$DIR/times"; }
read -r t_ms kb c_ms < <(stat a ms)
line "A migration_split" "$t_ms" "$kb" "$c_ms" "$t_ms" "$c_ms"
read -r t kb c < <(stat a pgo)
line "A pgoutput (proto 1)" "$t" "$kb" "$c" "$t_ms" "$c_ms"
read -r t kb c < <(stat a td)
line "A test_decoding" "$t" "$kb" "$c" "$t_ms" "$c_ms"
read -r t kb c < <(stat a w2j)
line "A wal2json (format 2)" "$t" "$kb" "$c" "$t_ms" "$c_ms"
read -r t_floor kb_floor c_floor < <(stat b floor)
read -r t kb c < <(stat b ms)
line "B migration_split (10% owned)" "$t" "$kb" "$c" "$t_floor" "$c_floor"
read -r t kb c < <(stat b none)
line "B migration_split (0% owned)" "$t" "$kb" "$c" "$t_floor" "$c_floor"
line "B floor: pgoutput, empty pub." "$t_floor" "$kb_floor" "$c_floor" "$t_floor" "$c_floor"
{
	echo
	echo "all runs (workload plugin seconds peak_kB cpu_seconds):"
	cat "$DIR/times"
} >>"$results"

echo "(best of $REPEAT runs each; ratio: to migration_split's for A, to the floor's for B)" | tee -a "$results"
echo "results: $results"
