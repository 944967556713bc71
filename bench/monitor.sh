#!/bin/bash
# Benchmark of the runtime boundary monitor.
#
#   bash bench/monitor.sh            # full run (a few minutes)
#   DURATION=2 ROUNDS=1 N=300 bash bench/monitor.sh   # quick run while developing
#
# Three configurations, each on its own temporary cluster:
#   bare   nothing preloaded
#   ms     migration_split preloaded; pgbench_accounts + pgbench_history in
#          domain "ledger", pgbench_tellers + pgbench_branches in "branch",
#          so every TPC-B transaction writes to two domains
#   pgss   pg_stat_statements preloaded
# and two pgbench scripts, select-only and tpcb-like.
#
# 1. Instructions per statement, counted by valgrind's callgrind on a
#    single-user backend (postgres --single honours shared_preload_libraries)
#    running N and 3N statements on identical fresh data: the slope
#    (I(3N) - I(N)) / 2N is the cost per statement without startup.
# 2. pgbench TPS (noisy on a shared 2-core machine: 10-15% run to run, far
#    more when other work runs).
# Results go to bench/results/monitor-<timestamp>/ with a summary.md.
#
# Environment: PG_CONFIG, PORT (first of 3 ports), SCALE, CLIENTS,
# DURATION (seconds per pgbench run), ROUNDS (pgbench rounds, median
# reported), N (statements for callgrind), WORKDIR.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
BINDIR=$($PG_CONFIG --bindir)
PORT=${PORT:-55250}
SCALE=${SCALE:-1}
CLIENTS=${CLIENTS:-2}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
N=${N:-1000}
WORKDIR=${WORKDIR:-/tmp/h2/bench}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$top/bench/results/monitor-$stamp"
mkdir -p "$out" "$WORKDIR"

runas=()
if [ "$(id -u)" -eq 0 ]; then
	runas=(runuser -u postgres --)
	chown postgres "$WORKDIR"
fi
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)"; exit 1; }

configs=(bare ms pgss)
declare -A preload=([bare]="" [ms]="migration_split" [pgss]="pg_stat_statements")
declare -A port
i=0
for c in "${configs[@]}"; do port[$c]=$((PORT + i)); i=$((i + 1)); done

pg() { "${runas[@]}" "$BINDIR/$@"; }

cleanup() {
	for c in "${configs[@]}"; do
		[ -f "$WORKDIR/$c/postmaster.pid" ] && pg pg_ctl -D "$WORKDIR/$c" -m fast stop >/dev/null 2>&1 || true
	done
}
trap cleanup EXIT

start() { pg pg_ctl -D "$WORKDIR/$1" -l "$WORKDIR/$1.log" -w start >/dev/null; }
stop() { pg pg_ctl -D "$WORKDIR/$1" -m fast -w stop >/dev/null; }
psql_c() { pg psql -X -q -h "$WORKDIR" -p "${port[$1]}" -d postgres -v ON_ERROR_STOP=1 -c "$2"; }

# --- clusters ------------------------------------------------------------
for c in "${configs[@]}"; do
	rm -rf "${WORKDIR:?}/$c"
	pg initdb -D "$WORKDIR/$c" >/dev/null 2>&1
	cat >>"$WORKDIR/$c/postgresql.conf" <<EOF
port = ${port[$c]}
unix_socket_directories = '$WORKDIR'
listen_addresses = ''
shared_preload_libraries = '${preload[$c]}'
shared_buffers = 64MB
fsync = off
synchronous_commit = off
autovacuum = off
EOF
	start "$c"
	pg pgbench -i -q -s "$SCALE" -h "$WORKDIR" -p "${port[$c]}" postgres >/dev/null 2>&1
	if [ "$c" = ms ]; then
		psql_c ms "CREATE EXTENSION migration_split;
			INSERT INTO migration_split.domains (domain) VALUES ('ledger'), ('branch');
			INSERT INTO migration_split.ownership (rel, domain) VALUES
				('pgbench_accounts', 'ledger'), ('pgbench_history', 'ledger'),
				('pgbench_tellers', 'branch'), ('pgbench_branches', 'branch');"
	fi
	psql_c "$c" "VACUUM ANALYZE"
	psql_c "$c" "CHECKPOINT"
done

# --- 1. callgrind instructions per statement -------------------------------
naccounts=$((100000 * SCALE))
gen_select() {	# $1 = number of statements
	awk -v n="$1" -v m="$naccounts" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "SELECT abalance FROM pgbench_accounts WHERE aid = %d;\n", (i * 7919) % m + 1 }'
}
gen_tpcb() {	# $1 = number of transactions (7 statements each)
	awk -v n="$1" -v m="$naccounts" -v s="$SCALE" 'BEGIN {
		for (i = 0; i < n; i++) {
			aid = (i * 7919) % m + 1; tid = (i * 13) % (10 * s) + 1; bid = i % s + 1; d = i % 1000 - 500
			print "BEGIN;"
			printf "UPDATE pgbench_accounts SET abalance = abalance + %d WHERE aid = %d;\n", d, aid
			printf "SELECT abalance FROM pgbench_accounts WHERE aid = %d;\n", aid
			printf "UPDATE pgbench_tellers SET tbalance = tbalance + %d WHERE tid = %d;\n", d, tid
			printf "UPDATE pgbench_branches SET bbalance = bbalance + %d WHERE bid = %d;\n", d, bid
			printf "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (%d, %d, %d, %d, CURRENT_TIMESTAMP);\n", tid, bid, aid, d
			print "END;" } }'
}

# instructions <config> <script> <count>
instructions() {
	local c=$1 script=$2 n=$3 input="$WORKDIR/input-$2-$3.sql" cg="$WORKDIR/callgrind-$1-$2-$3.out"
	if [ "$script" = select-only ]; then gen_select "$n" >"$input"; else gen_tpcb "$n" >"$input"; fi
	chmod a+r "$input"
	"${runas[@]}" valgrind --tool=callgrind --callgrind-out-file="$cg" \
		"$BINDIR/postgres" --single -D "$WORKDIR/$c" -c fsync=off postgres \
		<"$input" >/dev/null 2>"$out/valgrind-$c-$script-$n.log"
	awk '/^summary:/ { print $2 }' "$cg"
	rm -f "$cg"
}

# First, while every cluster holds the same freshly loaded data: pgbench
# writes change the tables, and with them the work of later statements.
for c in "${configs[@]}"; do stop "$c"; done
declare -A slope
for script in select-only tpcb-like; do
	for c in "${configs[@]}"; do
		i1=$(instructions "$c" "$script" "$N")
		i3=$(instructions "$c" "$script" $((3 * N)))
		slope[$c,$script]=$(( (i3 - i1) / (2 * N) ))
		echo "callgrind $script $c: $i1 / $i3 instructions -> ${slope[$c,$script]} per unit"
	done
done

for c in "${configs[@]}"; do start "$c"; done

# --- 2. pgbench TPS --------------------------------------------------------
# Configurations alternate within each round so that background load hits
# them alike; the median of the rounds is reported.
declare -A tps runs
for round in $(seq 1 "$ROUNDS"); do
	for script in select-only tpcb-like; do
		for c in "${configs[@]}"; do
			f="$out/pgbench-$c-$script-$round.txt"
			pg pgbench -n -b "$script" -c "$CLIENTS" -j "$CLIENTS" -T "$DURATION" \
				-h "$WORKDIR" -p "${port[$c]}" postgres >"$f" 2>&1
			t=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$f" | head -1)
			runs[$c,$script]="${runs[$c,$script]:-} $t"
			echo "pgbench round $round $script $c: $t tps"
		done
	done
done
for script in select-only tpcb-like; do
	for c in "${configs[@]}"; do
		tps[$c,$script]=$(echo ${runs[$c,$script]} | tr ' ' '\n' | sort -n |
			awk '{ v[NR] = $1 } END { printf "%.0f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	done
done
if [ -f "$WORKDIR/ms/postmaster.pid" ]; then
	psql_c ms "SELECT domains, count FROM migration_split.cross_domain_transactions" >"$out/ms-transactions.txt"
fi
for c in "${configs[@]}"; do stop "$c"; done


# --- summary -----------------------------------------------------------------
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%+.2f%%", (a / b - 1) * 100; else print "n/a" }'; }
{
	echo "# Runtime monitor benchmark ($stamp)"
	echo
	echo "pgbench -c $CLIENTS -T $DURATION, scale $SCALE, median of $ROUNDS rounds; callgrind with N = $N and 3N"
	echo "(unit: one statement for select-only, one 7-statement transaction for tpcb-like)."
	echo
	echo "| script | config | TPS (median) | TPS vs bare | instructions per unit | instructions vs bare |"
	echo "|---|---|---|---|---|---|"
	for script in select-only tpcb-like; do
		for c in "${configs[@]}"; do
			echo "| $script | $c | ${tps[$c,$script]} | $(pct "${tps[$c,$script]}" "${tps[bare,$script]}") | ${slope[$c,$script]} | $(pct "${slope[$c,$script]}" "${slope[bare,$script]}") |"
		done
	done
} | tee "$out/summary.md"
rm -f "$WORKDIR"/input-*.sql
echo "results in $out"
