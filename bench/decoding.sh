#!/bin/bash
# Benchmark of the migration_split output plugin against pgoutput,
# test_decoding and wal2json, on a temporary cluster of its own.
#
#   bash bench/decoding.sh                 # 1M inserts + 0.5M updates
#   SCALE=0.1 CG_SCALE=0.01 bash bench/decoding.sh   # while developing
#
# Environment: PG_CONFIG (default pg_config on PATH), PORT (55310), DIR
# (/tmp/migration_split_bench), SCALE (1), CG_SCALE (0.1; 0 skips the
# callgrind measure), REPEAT (2: every timed decoding runs that many times,
# alternating the order of the plugins; the best time is reported, so that
# neither the order nor a neighbour's load decides).  Runs PostgreSQL as
# "postgres" when started as root.  Results go to
# bench/results/decoding-<time>.txt (and stdout).
#
# Workload A (throughput): 1M inserts and 0.5M updates on a 5-column table
# owned by domain "bench", in transactions of 1000 rows, decoded by
#   migration_split   the options migration-split stream passes
#                     (proto-version, domain, include-xids, include-lsn,
#                     include-timestamp, stream-changes, batch-writes)
#   migration_split, one message per write: the same without batch-writes
#   pgoutput          proto_version 2, streaming on, a publication with the
#                     table (what a native subscription with streaming = on
#                     asks for)
#   test_decoding     skip-empty-xacts, stream-changes (xids included)
#   wal2json          format-version 2 (it cannot stream)
# Every plugin that can stream in-progress transactions is asked to (no
# transaction of the workloads exceeds logical_decoding_work_mem, so none
# is streamed), and every decoding is received the same way.
# Workload B (filtering): 90% of the changes on a table of another domain,
# 10% on the domain's table; migration_split against the floor, pgoutput
# with a publication that contains neither table (it sends nothing).  Also
# migration_split for a domain that owns neither table: the cost of the
# filtering alone, without the 10% of changes to send.
#
# Three measures of the same decodings:
# 1. instructions: the same WAL at CG_SCALE (default a tenth: 100k inserts
#    + 50k updates) decoded through the SQL interface
#    (pg_logical_slot_peek_changes, peek_binary_changes for pgoutput) in a
#    single-user backend under valgrind --tool=callgrind, counting only the
#    instructions executed inside the peek function (decoding, the plugin,
#    and storing the rows of the result).  Deterministic: the machine's
#    load does not change it.
# 2. SQL interface: SELECT count(*) FROM pg_logical_slot_peek_changes(...)
#    at SCALE: wall time and the backend's CPU time, without any network
#    send.
# 3. walsender: pg_recvlogical (the replication protocol, as the job
#    uses it) at SCALE, output to /dev/null, the same client and status
#    interval for every plugin: wall time, the walsender's CPU time and its
#    peak memory.  The CPU time is exact: the postmaster's CPU time of
#    terminated children (cutime + cstime in /proc) before and after, the
#    walsender being the only child that ends in between (it is found with
#    pgrep, not with a query, which would start a backend).  Peak memory
#    is sampled from /proc every 0.1 s: VmHWM (peak resident set, shared
#    buffers it touched included) and the largest RssAnon seen (its private
#    memory).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
BINDIR=$($PG_CONFIG --bindir)
PORT=${PORT:-55310}
DIR=${DIR:-/tmp/migration_split_bench}
SCALE=${SCALE:-1}
CG_SCALE=${CG_SCALE:-0.1}
REPEAT=${REPEAT:-2}
INSERTS=$(awk -v s="$SCALE" 'BEGIN { printf "%d", 1000000 * s }')
UPDATES=$(( INSERTS / 2 ))
CG_INSERTS=$(awk -v s="$CG_SCALE" 'BEGIN { printf "%d", 1000000 * s }')
CG_UPDATES=$(( CG_INSERTS / 2 ))
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

if [ "$CG_INSERTS" -gt 0 ] && ! command -v valgrind >/dev/null; then
	echo "valgrind is needed for the instruction counts (or set CG_SCALE=0 to skip them)" >&2
	exit 1
fi

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
$(bash "$top/test/plugin-libraries-conf.sh" "$BINDIR" pgoutput test_decoding migration_split wal2json)
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

# workloads PREFIX NINSERT NUPDATE NSLOTS: workload A, then workload B, each
# preceded by the creation of NSLOTS slots per plugin that decode it
# (PREFIXa_ms_1, ...); sets lsn_a and lsn_b to the end of each.
workloads() {
	local pre=$1 n=$2 u=$3 nslots=$4 r p
	for r in $(seq "$nslots"); do
		for p in ms:migration_split ms1:migration_split pgo:pgoutput td:test_decoding w2j:wal2json; do
			slot "${pre}a_${p%%:*}_$r" "${p#*:}"
		done
	done
	psql_ -c "CALL workload('bench_t', $n, $u, $BATCH, 0)"
	lsn_a=$(psql_ -c "SELECT pg_current_wal_insert_lsn()")
	# per 1000 changes, 900 on the other domain's table, 100 on ours
	for r in $(seq "$nslots"); do
		slot "${pre}b_ms_$r" migration_split
		slot "${pre}b_none_$r" migration_split
		slot "${pre}b_floor_$r" pgoutput
	done
	psql_ -c "CALL workload('other_t', $(( n * 9 / 10 )), $(( u * 9 / 10 )), 900, 0)" &
	psql_ -c "CALL workload('bench_t', $(( n / 10 )), $(( u / 10 )), 100, $n)"
	wait
	lsn_b=$(psql_ -c "SELECT pg_current_wal_insert_lsn()")
}

# The small workloads for callgrind first; the tables are emptied before
# the slots of the big ones exist (they do not see the truncate).
if [ "$CG_INSERTS" -gt 0 ]; then
	workloads cg_ "$CG_INSERTS" "$CG_UPDATES" 1
	cg_lsn_a=$lsn_a
	cg_lsn_b=$lsn_b
	psql_ -c "TRUNCATE bench_t, other_t"
fi
workloads "" "$INSERTS" "$UPDATES" "$REPEAT"
psql_ -c "CHECKPOINT"
wal_mb=$(psql_ -c "SELECT round(pg_wal_lsn_diff('$lsn_b', '0/0') / 1048576)")

# Every decoding: KIND WORKLOAD ENDPOS OPTIONS (name=value ...).  The
# options of migration_split are those of src/job/stream.c.
job_opts="proto-version=3 include-xids=1 include-lsn=1 include-timestamp=1 stream-changes=1"
plan=(
	"ms a $lsn_a domain=bench $job_opts batch-writes=1"
	"ms1 a $lsn_a domain=bench $job_opts batch-writes=0"
	"pgo a $lsn_a proto_version=2 streaming=on publication_names=pub_bench"
	"td a $lsn_a skip-empty-xacts=1 stream-changes=1"
	"w2j a $lsn_a format-version=2"
	"floor b $lsn_b proto_version=2 streaming=on publication_names=pub_none"
	"ms b $lsn_b domain=bench $job_opts batch-writes=1"
	"none b $lsn_b domain=other_service $job_opts batch-writes=1"
)
label() {
	case "$1 $2" in
		"a ms") echo "A migration_split (job)" ;;
		"a ms1") echo "A migration_split, 1 msg/write" ;;
		"a pgo") echo "A pgoutput (proto 2, streaming)" ;;
		"a td") echo "A test_decoding" ;;
		"a w2j") echo "A wal2json (format 2)" ;;
		"b ms") echo "B migration_split (10% owned)" ;;
		"b none") echo "B migration_split (0% owned)" ;;
		"b floor") echo "B floor: pgoutput, empty pub." ;;
	esac
}

# peek_sql SLOT ENDPOS KIND OPTIONS...: the SELECT that decodes SLOT
# through the SQL interface, counting the messages
peek_sql() {
	local slot=$1 endpos=$2 kind=$3 func=pg_logical_slot_peek_changes args="" o
	shift 3
	case $kind in pgo | floor) func=pg_logical_slot_peek_binary_changes ;; esac
	for o in "$@"; do args+=", '${o%%=*}', '${o#*=}'"; done
	echo "SELECT count(*) FROM $func('$slot', '$endpos', NULL$args)"
}

# sql_decode SLOT ENDPOS KIND OPTIONS...: prints "seconds cpu_seconds
# messages" of one decoding through the SQL interface (the backend's CPU
# time from /proc before and after)
sql_decode() {
	local q stat="awk '{ print \$14 + \$15 }' /proc/\$BPID/stat"
	q=$(peek_sql "$@")
	printf '%s\n' \
		"SELECT pg_backend_pid() AS pid \\gset" \
		"\\setenv BPID :pid" \
		"\\! $stat >$DIR/cpu0; date +%s.%N >$DIR/t0" \
		"$q;" \
		"\\! $stat >$DIR/cpu1; date +%s.%N >$DIR/t1" |
		psql_ >"$DIR/sql.out"
	awk -v t0="$(cat "$DIR/t0")" -v t1="$(cat "$DIR/t1")" -v c0="$(cat "$DIR/cpu0")" \
		-v c1="$(cat "$DIR/cpu1")" -v hz="$(getconf CLK_TCK)" -v n="$(cat "$DIR/sql.out")" \
		'BEGIN { printf "%.2f %.2f %d\n", t1 - t0, (c1 - c0) / hz, n }'
}

# cpu_children: the CPU time (clock ticks) of the postmaster's terminated
# children
pm_pid() { head -1 "$DIR/data/postmaster.pid"; }
cpu_children() { awk '{ print $16 + $17 }' "/proc/$(pm_pid)/stat"; }

# decode SLOT ENDPOS OPTIONS...: prints "seconds peak_kB cpu_seconds
# anon_peak_kB" of one decoding through a walsender
decode() {
	local slot=$1 endpos=$2
	shift 2
	local opts=()
	for o in "$@"; do opts+=(-o "$o"); done
	local pid="" hwm=0 anon=0 h a c0 c1 pm
	pm=$(pm_pid)
	c0=$(cpu_children)
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
		[ -z "$pid" ] && pid=$(pgrep -P "$pm" -f "walsender" | head -1 || true)
		if [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; then
			read -r h a < <(awk '/^VmHWM/ { h = $2 } /^RssAnon/ { a = $2 } END { print h + 0, a + 0 }' "/proc/$pid/status" 2>/dev/null || echo 0 0)
			[ "$h" -gt "$hwm" ] && hwm=$h
			[ "$a" -gt "$anon" ] && anon=$a
		fi
		sleep 0.1
	done
	wait "$rpid"
	# the walsender's CPU time counts once the postmaster has reaped it
	while [ -n "$pid" ] && [ -e "/proc/$pid" ]; do sleep 0.05; done
	c1=$(cpu_children)
	echo "$(cat "$DIR/elapsed") $hwm $(awk -v c="$(( c1 - c0 ))" -v t="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", c / t }') $anon"
}

# ratio A B: A / B as "1.23x"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
# base WORKLOAD: the kind every ratio of the workload is relative to
base() { if [ "$1" = a ]; then echo ms; else echo floor; fi; }

{
	echo "migration_split decoding benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "PostgreSQL: $("$BINDIR/postgres" --version); $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "workload A: $INSERTS inserts + $UPDATES updates of a 5-column table, $BATCH per transaction"
	echo "workload B: the same amount, 90% on another domain's table; WAL written: ${wal_mb} MB"
	echo "ratios: to migration_split for A, to the floor for B (above 1: more than the base)"
} | tee "$results"

# Times through the SQL interface and the walsender: REPEAT rounds,
# alternating the order of the plan.  The SQL interface only peeks (the
# slots of round 1 serve every round); the walsender consumes its slot.
rm -f "$DIR/sqltimes" "$DIR/times"
for r in $(seq "$REPEAT"); do
	if [ $(( r % 2 )) -eq 1 ]; then order=(cat); else order=(tac); fi
	while read -r kind w endpos opts; do
		# shellcheck disable=SC2086
		read -r t c n < <(sql_decode "${w}_${kind}_1" "$endpos" "$kind" $opts)
		echo "$w $kind $t 0 $c $n" >>"$DIR/sqltimes"
	done < <(printf '%s\n' "${plan[@]}" | "${order[@]}")
done
for r in $(seq "$REPEAT"); do
	if [ $(( r % 2 )) -eq 1 ]; then order=(cat); else order=(tac); fi
	while read -r kind w endpos opts; do
		# shellcheck disable=SC2086
		read -r t kb c anon < <(decode "${w}_${kind}_$r" "$endpos" $opts)
		echo "$w $kind $t $kb $c $anon" >>"$DIR/times"
	done < <(printf '%s\n' "${plan[@]}" | "${order[@]}")
done

# stat FILE WORKLOAD KIND: min time, max peak, min CPU, messages (SQL
# interface) or max private peak (walsender)
stat() { awk -v w="$2" -v k="$3" '$1 == w && $2 == k {
	if (t == "" || $3 < t) t = $3; if (c == "" || $5 < c) c = $5; if ($4 > m) m = $4; if ($6 > n) n = $6 }
	END { print t, m + 0, c, n + 0 }' "$1"; }

# Instructions: stop the server, decode each plan's callgrind slot in a
# single-user backend under callgrind.
declare -A instr
if [ "$CG_INSERTS" -gt 0 ]; then
	run "$BINDIR/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null
	while read -r kind w endpos opts; do
		if [ "$w" = a ]; then endpos=$cg_lsn_a; else endpos=$cg_lsn_b; fi
		# shellcheck disable=SC2086
		q=$(peek_sql "cg_${w}_${kind}_1" "$endpos" "$kind" $opts)
		run valgrind --tool=callgrind --callgrind-out-file="$DIR/callgrind.$w.$kind" \
			"--toggle-collect=pg_logical_slot_peek*" \
			"$BINDIR/postgres" --single -D "$DIR/data" postgres <<<"$q" >"$DIR/cg.out" 2>"$DIR/cg.err"
		n=$(sed -n 's/.*count = "\([0-9]*\)".*/\1/p' "$DIR/cg.out")
		if [ -z "$n" ]; then
			echo "callgrind run of $w $kind failed:" >&2
			cat "$DIR/cg.out" "$DIR/cg.err" >&2
			exit 1
		fi
		instr[$w.$kind]="$(awk '/Collected :/ { print $NF }' "$DIR/cg.err") $n"
	done < <(printf '%s\n' "${plan[@]}")

	{
		echo
		echo "1. instructions (callgrind; SQL interface in a single-user backend): $CG_INSERTS inserts + $CG_UPDATES updates"
		printf "%-32s %10s %14s %7s\n" "decoding" "messages" "instructions" "ratio"
	} | tee -a "$results"
	for p in "${plan[@]}"; do
		read -r kind w _ <<<"$p"
		read -r i n <<<"${instr[$w.$kind]}"
		read -r ib _ <<<"${instr[$w.$(base "$w")]}"
		printf "%-32s %10s %14s %7s\n" "$(label "$w" "$kind")" "$n" "$i" "$(ratio "$i" "$ib")" | tee -a "$results"
	done
fi

{
	echo
	echo "2. SQL interface (SELECT count(*) FROM pg_logical_slot_peek_changes(...)), best of $REPEAT"
	printf "%-32s %10s %8s %7s %11s %7s\n" "decoding" "messages" "seconds" "ratio" "backend CPU" "ratio"
} | tee -a "$results"
for p in "${plan[@]}"; do
	read -r kind w _ <<<"$p"
	read -r t _ c n < <(stat "$DIR/sqltimes" "$w" "$kind")
	read -r tb _ cb _ < <(stat "$DIR/sqltimes" "$w" "$(base "$w")")
	printf "%-32s %10s %8s %7s %11s %7s\n" "$(label "$w" "$kind")" "$n" "$t" "$(ratio "$t" "$tb")" \
		"$c" "$(ratio "$c" "$cb")" | tee -a "$results"
done

{
	echo
	echo "3. walsender (pg_recvlogical to /dev/null), best of $REPEAT"
	printf "%-32s %8s %7s %13s %7s %11s %11s\n" "decoding" "seconds" "ratio" "walsender CPU" "ratio" "peak RSS" "peak anon"
} | tee -a "$results"
for p in "${plan[@]}"; do
	read -r kind w _ <<<"$p"
	read -r t kb c anon < <(stat "$DIR/times" "$w" "$kind")
	read -r tb _ cb _ < <(stat "$DIR/times" "$w" "$(base "$w")")
	printf "%-32s %8s %7s %13s %7s %8.1f MB %8.1f MB\n" "$(label "$w" "$kind")" "$t" "$(ratio "$t" "$tb")" \
		"$c" "$(ratio "$c" "$cb")" "$(awk -v k="$kb" 'BEGIN { print k / 1024 }')" \
		"$(awk -v k="$anon" 'BEGIN { print k / 1024 }')" | tee -a "$results"
done
{
	echo
	echo "targets (walsender CPU of migration_split as the job decodes, over the peer's):"
	read -r _ _ cm _ < <(stat "$DIR/times" a ms)
	for k in pgo:0.85 td:0.6 w2j:0.6; do
		read -r _ _ cp _ < <(stat "$DIR/times" a "${k%%:*}")
		awk -v a="$cm" -v b="$cp" -v lim="${k#*:}" -v n="$(label a "${k%%:*}")" \
			'BEGIN { r = a / b; printf "  %-32s %.2fx (target at most %.2fx): %s\n", n, r, lim, r <= lim ? "met" : "NOT met" }'
	done
} | tee -a "$results"

{
	echo
	echo "all timed runs (SQL: workload plugin seconds 0 cpu_seconds messages; walsender: workload plugin seconds peak_kB cpu_seconds anon_peak_kB):"
	echo "SQL interface:"
	cat "$DIR/sqltimes"
	echo "walsender:"
	cat "$DIR/times"
	if [ "$CG_INSERTS" -gt 0 ] && command -v callgrind_annotate >/dev/null; then
		echo
		echo "migration_split, workload A: callgrind_annotate --inclusive=yes (top 40)"
		callgrind_annotate --inclusive=yes "$DIR/callgrind.a.ms" 2>/dev/null | sed -n '/^Ir/,$p' | sed -n 3,42p
	fi
} >>"$results"
echo "results: $results"
