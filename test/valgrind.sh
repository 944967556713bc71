#!/bin/bash
# Run the pg_regress suites against a server running under valgrind
# (memcheck) and report every error whose stack passes through
# migration_split.so.
#
#   bash test/valgrind.sh                          # every pg_regress suite
#   bash test/valgrind.sh REGRESS="monitor enforcement"
#
# Arguments go to "make installcheck" (REGRESS=... selects suites).  The
# library must be installed for PG_CONFIG (run test/run.sh, or make install,
# first).  The server runs under valgrind --trace-children=yes on a Unix
# socket in a new directory under TMPDIR, configured as test/regress.conf;
# as root it runs as "postgres".  PostgreSQL itself is not built for
# valgrind here (no USE_VALGRIND, no suppression file), so its own reports
# are ignored: only error records with a frame in migration_split.so count.
# Exit status 1 when there is one, or when a suite fails; the records are
# printed.  Slow (a few minutes per suite on a busy machine): not part of
# test/run.sh.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
export PG_CONFIG=${PG_CONFIG:-pg_config}
command -v valgrind >/dev/null || { echo "valgrind: not installed (apt-get install valgrind)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/migration_split_valgrind.XXXXXX")
cp -a "$top"/. "$work/tree" && rm -rf "$work/tree/.git" "$work/tree"/tmp_check* "$work/tree/results"
runas=()
if [ "$(id -u)" -eq 0 ]; then
	chown -R postgres: "$work"
	runas=(runuser -u postgres --)
fi
bindir=$($PG_CONFIG --bindir)
data="$work/data"
log="$work/server.log"

stop() {
	"${runas[@]}" "$bindir/pg_ctl" -D "$data" -m fast -t 300 stop >/dev/null 2>&1
}
trap stop EXIT

"${runas[@]}" "$bindir/initdb" -D "$data" -A trust --no-sync >"$work/initdb.log" 2>&1 ||
	{ cat "$work/initdb.log"; exit 1; }
{
	cat "$top/test/regress.conf"
	# output_plugin_libraries, as the Makefile gives the test instances
	bash "$top/test/plugin-libraries-conf.sh" "$bindir" pgoutput test_decoding migration_split
	echo "listen_addresses = ''"
	echo "unix_socket_directories = '$work'"
	echo "max_connections = 20"
} >>"$data/postgresql.conf"

# The postmaster runs under valgrind through a wrapper that pg_ctl starts
# as its "postgres"; every backend is a child of it.
cat >"$work/postgres" <<EOF
#!/bin/sh
exec valgrind --quiet --trace-children=yes --track-origins=no --leak-check=no \
	--error-limit=no --num-callers=30 --vgdb=no --log-file=$work/vg.%p.log \
	$bindir/postgres "\$@"
EOF
chmod +x "$work/postgres"
[ ${#runas[@]} -gt 0 ] && chown postgres: "$work/postgres"
"${runas[@]}" "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 600 -p "$work/postgres" start >/dev/null ||
	{ tail -20 "$log"; exit 1; }

( cd "$work/tree" && "${runas[@]}" env PGHOST="$work" PGPORT=5432 \
	make -s installcheck PG_CONFIG="$PG_CONFIG" \
	REGRESS_OPTS="--dbname=contrib_regression --load-extension=migration_split" ISOLATION= TAP_TESTS= "$@" ) 2>&1 |
	tee "$work/installcheck.log"
status=${PIPESTATUS[0]}
stop
trap - EXIT

# Error records (valgrind separates them with blank lines) that mention
# the library.
errors=$(cat "$work"/vg.*.log 2>/dev/null | awk '
	/^==[0-9]+== $/ { if (rec ~ /migration_split/) print rec; rec = ""; next }
	{ rec = rec $0 "\n" }
	END { if (rec ~ /migration_split/) print rec }')
total=$(cat "$work"/vg.*.log 2>/dev/null | grep -c '^==[0-9]*== [A-Z].*\(Invalid\|uninitialised\|Mismatched\|overlap\)' || true)
echo "valgrind: $(ls "$work"/vg.*.log 2>/dev/null | wc -l) processes checked, $total error records in all"
if [ -n "$errors" ]; then
	echo "$errors"
	echo "valgrind: errors in migration_split (logs in $work)"
	exit 1
fi
if [ "$status" -ne 0 ]; then
	echo "valgrind: a suite failed (logs in $work)"
	exit 1
fi
echo "valgrind: no errors in migration_split"
[ -z "${VALGRIND_KEEP:-}" ] && rm -rf "$work"
exit 0
