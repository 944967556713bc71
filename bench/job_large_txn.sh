#!/bin/bash
# Benchmark of one large source transaction: a single UPDATE of ROWS rows
# (default 5M) applied by "migration-split stream" while it runs, compared
# with a native subscription (streaming = on) applying the same
# transaction on an identical table.
#
#   PG_CONFIG=... bash bench/job_large_txn.sh         # ROWS=5000000
#   ROWS=500000 bash bench/job_large_txn.sh           # while developing
#
# Environment: as bench/job_lib.sh (PG_CONFIG, BENCH_DIR, BENCH_PORT), ROWS.
# The source keeps logical_decoding_work_mem at its default (64MB): a
# transaction larger than that is streamed to a consumer that asks for it
# (the job passes stream-changes, the subscription streaming = on) and
# spilled to disk by the walsender otherwise.
#
# Setup: two identical tables of ROWS rows on the source, t_ours (owned by
# domain "bench", copied by init) and t_native (in a publication, copied by
# the subscription).  Each side is measured alone, the other one stopped:
#   1. the job streams (applying the transaction while it runs on the
#      source, live.c); UPDATE t_ours SET a = a + 1 in one transaction;
#   1b. the same with stream --spool-streamed (applied from the spool at
#      the commit, as 1.1 did before live apply);
#   2. the job is stopped, the subscription enabled and caught up; UPDATE
#      t_native SET a = a + 1 in one transaction.
# Reported per side:
#   - time from the start of the source transaction to the target's commit
#     (the source UPDATE + COMMIT, plus the next figure);
#   - time from the source's commit (when COMMIT returns to the client) to
#     the target's commit, seen by one target backend that reads the row
#     id = 1 every 20 ms (an index lookup: it does not compete with the
#     apply for the CPU; the transaction is atomic on the target, so the
#     updated row means the whole transaction is committed);
#   - peak memory of the process that applies: the job's maximum resident
#     set size from /usr/bin/time -v (the whole stream run), the apply
#     worker's VmHWM and largest RssAnon, sampled from /proc every 0.2 s;
#   - peak memory of the walsender: VmHWM (resident set, shared buffers it
#     touched included) and the largest RssAnon seen (private memory),
#     sampled from /proc every 0.2 s;
#   - what the source's slot did (pg_stat_replication_slots): bytes
#     streamed while the transaction ran and bytes spilled to disk.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/job_lib.sh"

ROWS=${ROWS:-5000000}

if [ ! -x /usr/bin/time ]; then
	echo "/usr/bin/time (package time) is needed for the job's peak memory" >&2
	exit 1
fi

bench_start_clusters
trap 'kill ${job_pid:-} ${sampler_pid:-} ${aw_sampler_pid:-} 2>/dev/null || true; bench_stop_clusters' EXIT

mkdir -p "$here/results"
results="$here/results/job_large_txn-$(date -u +%Y%m%dT%H%M%SZ).txt"

table_sql() { echo "CREATE TABLE $1 (id bigint PRIMARY KEY, a int NOT NULL, b text NOT NULL, c timestamptz NOT NULL);"; }
psql_src -c "CREATE EXTENSION migration_split" -c "$(table_sql t_ours)" -c "$(table_sql t_native)" \
	-c "CREATE TABLE done (id int PRIMARY KEY)" \
	-c "INSERT INTO t_ours SELECT i, 0, md5(i::text), '2026-12-01' FROM generate_series(1, $ROWS) i" \
	-c "INSERT INTO t_native SELECT * FROM t_ours" \
	-c "INSERT INTO migration_split.domains (domain) VALUES ('bench')" \
	-c "INSERT INTO migration_split.ownership (rel, domain) VALUES ('t_ours', 'bench')" \
	-c "CREATE PUBLICATION pub FOR TABLE t_native, done" \
	-c "VACUUM ANALYZE"
psql_tgt -c "CREATE DATABASE ours" -c "CREATE DATABASE native"

echo "init: copying $ROWS rows"
"$BIN/migration-split" init --source "$SRC" --target "$TGT dbname=ours" --domain bench --no-progress >/dev/null
psql_tgt -d native -c "$(table_sql t_native)" -c "CREATE TABLE done (id int PRIMARY KEY)" \
	-c "CREATE SUBSCRIPTION sub CONNECTION 'host=$BENCH_DIR port=$SRC_PORT user=postgres dbname=postgres' PUBLICATION pub WITH (streaming = on)"
until [ "$(psql_tgt -d native -At -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'")" = 0 ]; do sleep 0.5; done
psql_tgt -d native -c "ALTER SUBSCRIPTION sub DISABLE"
until [ "$(psql_src -At -c "SELECT count(*) FROM pg_replication_slots WHERE active")" = 0 ]; do sleep 0.2; done
psql_src -c "CHECKPOINT"
# segments for the target WAL of the update, so that the method run first
# does not create them for the others
bench_warm_wal tgt $((ROWS * 256 / 1048576 + 64))

# sample OUT SLOT|PID: until killed, write "VmHWM_kB max_RssAnon_kB" of
# the walsender of slot SLOT, or of process PID, to OUT every 0.2 s
sample() {
	local out=$1 slot=$2 pid="" hwm=0 anon=0 h a
	case $slot in [0-9]*) pid=$slot ;; esac
	while :; do
		[ -z "$pid" ] && pid=$(psql_src -At -c "SELECT active_pid FROM pg_replication_slots WHERE slot_name = '$slot'" 2>/dev/null || true)
		if [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; then
			read -r h a < <(awk '/^VmHWM/ { h = $2 } /^RssAnon/ { a = $2 } END { print h + 0, a + 0 }' "/proc/$pid/status" 2>/dev/null || echo 0 0)
			[ "$h" -gt "$hwm" ] && hwm=$h
			[ "$a" -gt "$anon" ] && anon=$a
			echo "$hwm $anon" >"$out"
		fi
		sleep 0.2
	done
}

# wait_updated DB TABLE [VALUE]: wait in one target backend until row id = 1
# of TABLE has a = VALUE (default 1); print the epoch at which it was seen
wait_updated() {
	psql_tgt -d "$1" -At -c "DO \$\$ BEGIN WHILE NOT EXISTS (SELECT FROM $2 WHERE id = 1 AND a = ${3:-1}) LOOP PERFORM pg_sleep(0.02); END LOOP; END \$\$" \
		-c "SELECT extract(epoch FROM clock_timestamp())"
}

# update TABLE: the large transaction; prints "commit_epoch seconds"
update() {
	local start
	start=$(now)
	psql_src -c "BEGIN" -c "UPDATE $1 SET a = a + 1" -c "COMMIT"
	echo "$(now) $(elapsed "$start")"
}

# wait_inactive SLOT: until its walsender has ended (and reported its
# statistics)
wait_inactive() {
	until [ "$(psql_src -At -c "SELECT active FROM pg_replication_slots WHERE slot_name = '$1'")" = f ]; do sleep 0.2; done
	sleep 1
}

slot_stats() {
	psql_src -At -F ' ' -c "SELECT stream_txns, stream_bytes, spill_txns, spill_bytes FROM pg_stat_replication_slots WHERE slot_name = '$1'"
}

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# run_ours VALUE [STREAM OPTION]...: one UPDATE of t_ours (row 1 reaches a =
# VALUE) applied by "migration-split stream"; sets lag_ours, src_ours,
# job_rss, ws_hwm_ours, ws_anon_ours, stats_ours
run_ours() {
	local value=$1 commit waiter
	shift
	psql_src -c "SELECT pg_stat_reset_replication_slot('migration_split_bench')" >/dev/null
	/usr/bin/time -v -o "$BENCH_DIR/job.time" "$BIN/migration-split" stream --source "$SRC" --target "$TGT dbname=ours" \
		--domain bench --status-interval 0 "$@" 2>>"$BENCH_DIR/stream.err" &
	job_pid=$!
	until [ "$(psql_src -At -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'migration_split_bench' AND active")" = 1 ]; do sleep 0.2; done
	sample "$BENCH_DIR/ws_ours" migration_split_bench &
	sampler_pid=$!
	wait_updated ours bench.t_ours "$value" >"$BENCH_DIR/seen_ours" &
	waiter=$!
	read -r commit src_ours < <(update t_ours)
	wait "$waiter"
	lag_ours=$(awk -v a="$(tail -1 "$BENCH_DIR/seen_ours")" -v b="$commit" 'BEGIN { printf "%.2f", a - b }')
	read -r ws_hwm_ours ws_anon_ours <"$BENCH_DIR/ws_ours"
	kill "$sampler_pid"; wait "$sampler_pid" 2>/dev/null || true
	sampler_pid=
	# /usr/bin/time ignores SIGINT: interrupt its child, the job
	pkill -INT -P "$job_pid"; wait "$job_pid" || true
	job_pid=
	wait_inactive migration_split_bench
	job_rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$BENCH_DIR/job.time")
	stats_ours=$(slot_stats migration_split_bench)
	echo "  source UPDATE took $src_ours s; commit to target commit: $lag_ours s"
}

# 1. the job, applying the transaction while it runs (the default)
echo "1. migration-split stream: UPDATE of $ROWS rows in one transaction"
run_ours 1
read -r lag_live src_live rss_live whm_live wan_live <<<"$lag_ours $src_ours $job_rss $ws_hwm_ours $ws_anon_ours"
stats_live=$stats_ours
grep -q 'was applied while it ran on the source' "$BENCH_DIR/stream.err" ||
	{ echo "the job did not apply the transaction while it ran"; exit 1; }

# 1b. the job with --spool-streamed: applied at the commit, from the spool
echo "1b. migration-split stream --spool-streamed: UPDATE of $ROWS rows in one transaction"
run_ours 2 --spool-streamed
read -r lag_spool src_spool rss_spool <<<"$lag_ours $src_ours $job_rss"

# 2. the native subscription, caught up first (it decodes the job's
# transaction too, and sends nothing of it)
echo "2. native subscription (streaming = on): UPDATE of $ROWS rows in one transaction"
psql_tgt -d native -c "ALTER SUBSCRIPTION sub ENABLE"
psql_src -c "INSERT INTO done VALUES (1)"
psql_tgt -d native -c "DO \$\$ BEGIN WHILE NOT EXISTS (SELECT FROM done) LOOP PERFORM pg_sleep(0.05); END LOOP; END \$\$"
psql_src -c "SELECT pg_stat_reset_replication_slot('sub')" >/dev/null
aw_pid=$(psql_tgt -d native -At -c "SELECT pid FROM pg_stat_subscription WHERE subname = 'sub' AND relid IS NULL")
sample "$BENCH_DIR/ws_native" sub &
sampler_pid=$!
sample "$BENCH_DIR/aw_native" "$aw_pid" &
aw_sampler_pid=$!
wait_updated native public.t_native >"$BENCH_DIR/seen_native" &
waiter=$!
read -r commit_native src_native < <(update t_native)
wait "$waiter"
lag_native=$(awk -v a="$(tail -1 "$BENCH_DIR/seen_native")" -v b="$commit_native" 'BEGIN { printf "%.2f", a - b }')
read -r aw_hwm aw_anon <"$BENCH_DIR/aw_native"
read -r ws_hwm_native ws_anon_native <"$BENCH_DIR/ws_native"
kill "$sampler_pid" "$aw_sampler_pid"; wait "$sampler_pid" "$aw_sampler_pid" 2>/dev/null || true
sampler_pid= aw_sampler_pid=
psql_tgt -d native -c "ALTER SUBSCRIPTION sub DISABLE"
wait_inactive sub
stats_native=$(slot_stats sub)
echo "  source UPDATE took $src_native s; commit to target commit: $lag_native s"

q="SELECT count(*) || ' ' || md5(string_agg(a::text, ',' ORDER BY id)) FROM %s"
s=$(psql_src -At -c "$(printf "$q" public.t_ours)")
o=$(psql_tgt -d ours -At -c "$(printf "$q" bench.t_ours)")
n=$(psql_tgt -d native -At -c "$(printf "$q" public.t_native)")
n2=$(psql_src -At -c "$(printf "$q" public.t_native)")
[ "$s" = "$o" ] && [ "$n2" = "$n" ] || { echo "MISMATCH: source $s / ours $o; source $n2 / native $n"; exit 1; }

{
	echo "large transaction benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "PostgreSQL: $("$BIN/postgres" --version); $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "one UPDATE of $ROWS rows (4 columns) in one transaction; logical_decoding_work_mem = $(psql_src -At -c 'SHOW logical_decoding_work_mem')"
	echo "check: target tables equal the source ($s)"
	echo
	total() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }
	printf "%-34s %16s %16s %16s\n" "" "migration-split" "--spool-streamed" "native (stream)"
	printf "%-34s %16s %16s %16s\n" "source UPDATE + COMMIT, s" "$src_live" "$src_spool" "$src_native"
	printf "%-34s %16s %16s %16s\n" "source commit to target commit, s" "$lag_live" "$lag_spool" "$lag_native"
	printf "%-34s %16s %16s %16s\n" "source BEGIN to target commit, s" "$(total "$src_live" "$lag_live")" \
		"$(total "$src_spool" "$lag_spool")" "$(total "$src_native" "$lag_native")"
	printf "%-34s %16s %16s %16s\n" "applying process peak RSS, MB" "$(mb "$rss_live")" "$(mb "$rss_spool")" "$(mb "$aw_hwm")"
	printf "%-34s %16s %16s %16s\n" "applying process peak private, MB" "-" "-" "$(mb "$aw_anon")"
	printf "%-34s %16s %16s %16s\n" "walsender peak RSS, MB" "$(mb "$whm_live")" "" "$(mb "$ws_hwm_native")"
	printf "%-34s %16s %16s %16s\n" "walsender peak private (anon), MB" "$(mb "$wan_live")" "" "$(mb "$ws_anon_native")"
	read -r st sb xt xb <<<"$stats_live"
	read -r nst nsb nxt nxb <<<"$stats_native"
	printf "%-34s %16s %16s %16s\n" "slot: streamed txns / MB" "$st / $(mb $((sb / 1024)))" "" "$nst / $(mb $((nsb / 1024)))"
	printf "%-34s %16s %16s %16s\n" "slot: spilled txns / MB" "$xt / $(mb $((xb / 1024)))" "" "$nxt / $(mb $((nxb / 1024)))"
	echo
	echo "job peak RSS target: under 100 MB: $(awk -v k="$rss_live" -v l="$rss_spool" 'BEGIN { print (k < 102400 && l < 102400) ? "met" : "NOT met" }')"
	echo "the apply worker's peak RSS includes the target's shared buffers it touched; its private"
	echo "memory (largest RssAnon seen) is the comparable figure; the job is a client: all its memory is private"
} | tee "$results"
echo "results: $results"
