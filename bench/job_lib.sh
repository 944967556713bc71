#!/bin/bash
# Helpers shared by the bench/job_*.sh benchmarks of the migration-split job:
# two throwaway clusters (source and target) on private ports, run as the
# "postgres" user when started as root.
#
# Environment: PG_CONFIG (default pg_config on PATH), BENCH_DIR (default
# /tmp/ms_job_bench), BENCH_PORT (first of two ports, default 55410).
# Set by the scripts that compare peers: BENCH_PLUGINS (more output plugins
# the source allows, e.g. "wal2json pglogical_output"), EXTRA_CONF (lines for
# both clusters' postgresql.conf, e.g. pglogical's settings), EXTRA_TGT_CONF
# (lines for the target's only).

set -euo pipefail

PG_CONFIG=${PG_CONFIG:-pg_config}
BIN=$($PG_CONFIG --bindir)
BENCH_DIR=${BENCH_DIR:-/tmp/ms_job_bench}
BENCH_PORT=${BENCH_PORT:-55410}
SRC_PORT=$BENCH_PORT
TGT_PORT=$((BENCH_PORT + 1))
SRC="host=$BENCH_DIR port=$SRC_PORT user=postgres dbname=postgres"
TGT="host=$BENCH_DIR port=$TGT_PORT user=postgres dbname=postgres"

runas=()
[ "$(id -u)" -eq 0 ] && runas=(runuser -u postgres --)

psql_src() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$BENCH_DIR" -p "$SRC_PORT" -U postgres "$@"; }
psql_tgt() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$BENCH_DIR" -p "$TGT_PORT" -U postgres "$@"; }

# seconds since the epoch with fractions, and arithmetic on them
now() { date +%s.%N; }
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.2f", a - b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# "2GB", "500MB", "100kB" -> bytes
parse_size()
{
	echo "$1" | awk '{ s = toupper($0); n = s + 0;
		if (s ~ /GB$/) n *= 1024^3; else if (s ~ /MB$/) n *= 1024^2; else if (s ~ /KB$/) n *= 1024;
		printf "%d", n }'
}

bench_start_clusters()
{
	bench_stop_clusters 2>/dev/null || true
	rm -rf "$BENCH_DIR"
	mkdir -p "$BENCH_DIR"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$BENCH_DIR"
	for node in src tgt; do
		"${runas[@]}" "$BIN/initdb" -D "$BENCH_DIR/$node" -A trust -U postgres >/dev/null
		cat >> "$BENCH_DIR/$node/postgresql.conf" <<CONF
shared_buffers = 256MB
max_wal_size = 8GB
checkpoint_timeout = 30min
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
max_worker_processes = 16
$(bash "$(dirname "${BASH_SOURCE[0]}")/../test/plugin-libraries-conf.sh" "$BIN" pgoutput test_decoding migration_split ${BENCH_PLUGINS:-})
unix_socket_directories = '$BENCH_DIR'
listen_addresses = ''
${EXTRA_CONF:-}
CONF
	done
	echo "${EXTRA_TGT_CONF:-}" >> "$BENCH_DIR/tgt/postgresql.conf"
	"${runas[@]}" "$BIN/pg_ctl" -D "$BENCH_DIR/src" -o "-p $SRC_PORT" -l "$BENCH_DIR/src.log" -w start >/dev/null
	"${runas[@]}" "$BIN/pg_ctl" -D "$BENCH_DIR/tgt" -o "-p $TGT_PORT" -l "$BENCH_DIR/tgt.log" -w start >/dev/null
}

# bench_warm_wal NODE MB: leave at least MB of WAL segments in NODE's
# pg_wal ready for reuse.  A new cluster has two segments; a method that
# writes more WAL than that creates and zero-fills each further segment as
# it goes (40 ms or more each here), while the methods after it reuse the
# segments recycled at the CHECKPOINT between methods.  Without this, the
# method run first pays for the others.  One small non-transactional WAL
# record and a switch per segment, then a CHECKPOINT, whose recycling keeps
# them (its estimate of the WAL between checkpoints is at least that).
bench_warm_wal()
{
	"psql_$1" -c "DO \$\$
		BEGIN
			FOR i IN 1 .. ceil($2 * 1048576.0 / pg_catalog.pg_size_bytes(pg_catalog.current_setting('wal_segment_size'))) LOOP
				PERFORM pg_catalog.pg_logical_emit_message(false, 'bench', '');
				PERFORM pg_catalog.pg_switch_wal();
			END LOOP;
		END \$\$" -c "CHECKPOINT"
}

bench_stop_clusters()
{
	for node in src tgt; do
		[ -f "$BENCH_DIR/$node/postmaster.pid" ] &&
			"${runas[@]}" "$BIN/pg_ctl" -D "$BENCH_DIR/$node" -m fast -w stop >/dev/null
	done
	return 0
}

# CPU seconds of a cluster's server processes: the postmaster, its live
# children and the children it reaped (utime, stime, cutime, cstime)
cluster_cpu()
{
	local pm
	pm=$(head -1 "$BENCH_DIR/$1/postmaster.pid")
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } |
		awk -v pm="$pm" -v hz="$(getconf CLK_TCK)" '{ pid = $1; sub(/^.*\) /, "") }
			pid == pm { t += $12 + $13 + $14 + $15 } $2 == pm { t += $12 + $13 }
			END { printf "%.2f", t / hz }'
}
# CPU seconds of this script's reaped children, into $cli ("times" in a
# subshell would report the subshell's children)
client_cpu()
{
	times >"$BENCH_DIR/times"
	cli=$(awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.2f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$BENCH_DIR/times")
}
# cost_start ... cost_end: the CPU seconds of the source's and the target's
# server processes and of this script's children in between, and the WAL
# and checkpoints of the target, printed as one "cost:" line
cost_start()
{
	c_src=$(cluster_cpu src)
	c_tgt=$(cluster_cpu tgt)
	client_cpu
	c_cli=$cli
	c_lsn=$(psql_tgt -At -c "SELECT pg_current_wal_lsn()")
	c_ckpt=$(psql_tgt -At -c "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter")
}
cost_end()
{
	local src tgt cli pm i
	# a walsender's or apply backend's CPU is read from /proc while it
	# lives and from the postmaster's reaped children once it is gone, but
	# not in between (a zombie): wait (up to 10 s) until the walsenders and
	# apply workers of the method have been reaped
	for i in $(seq 1 100); do
		pm="$(head -1 "$BENCH_DIR/src/postmaster.pid") $(head -1 "$BENCH_DIR/tgt/postmaster.pid")"
		pgrep -P "${pm// /,}" -f 'walsender|logical replication worker|pglogical apply' >/dev/null || break
		sleep 0.1
	done
	sleep 0.3	# and the backends of the job's connections
	src=$(cluster_cpu src)
	tgt=$(cluster_cpu tgt)
	client_cpu
	echo "  cost: CPU source $(awk -v a="$src" -v b="$c_src" 'BEGIN { printf "%.1f", a - b }') s, target $(awk -v a="$tgt" -v b="$c_tgt" 'BEGIN { printf "%.1f", a - b }') s, client $(awk -v a="$cli" -v b="$c_cli" 'BEGIN { printf "%.1f", a - b }') s; target WAL" \
		"$(psql_tgt -At -c "SELECT pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), '$c_lsn')) || ', ' || (checkpoints_timed + checkpoints_req - $c_ckpt) || ' checkpoints' FROM pg_stat_bgwriter")"
}
