#!/bin/bash
# The migration_split demo: a throwaway PostgreSQL 15 cluster with a small
# Django-style shop monolith (demo/shop.sql), split into domains with
# suggestions, then every static boundary report, and the boundary graph
# rendered to demo/out/ (SVG when Graphviz is installed).
#
#   bash demo/run.sh
#
# Works on a fresh Debian 12 machine: installs the packages it needs (sudo
# when not root), builds and installs the extension, and runs the server as
# the invoking user (as "postgres" when started as root) in a temporary
# directory on a free local port.  The cluster is stopped and removed at the
# end, also on failure or Ctrl-C.  Nothing touches an existing cluster.
#
# The demo is a list of steps (see "steps" at the bottom); each is a shell
# function.  PG_CONFIG selects the PostgreSQL installation (default:
# pg_config on PATH); DEMO_PAUSE=1 waits for Enter between steps.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/demo/out"
export PG_CONFIG=${PG_CONFIG:-pg_config}
work=""
runas=()
port=""

banner() {
	printf '\n\033[1m==== %s\033[0m\n' "$*"
}

# Run SQL against the demo database, echoing each query like a psql session.
sql() {
	"$bindir/psql" -X -h "$work" -p "$port" -U postgres -d shop \
		-v ON_ERROR_STOP=1 -e -P pager=off "$@"
}

cleanup() {
	local status=$?
	if [ -n "$work" ] && [ -d "$work" ]; then
		if [ "$status" -ne 0 ] && [ -f "$work/server.log" ]; then
			echo "--- server log (last lines) ---" >&2
			tail -20 "$work/server.log" >&2 || true
		fi
		if [ -f "$work/data/postmaster.pid" ]; then
			"${runas[@]}" "$bindir/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null 2>&1 ||
				"${runas[@]}" "$bindir/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true
		fi
		rm -rf "$work"
	fi
	[ "$status" -ne 0 ] && echo "demo failed (exit $status)" >&2
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port nobody listens on, from 54321 up.
free_port() {
	local p
	for p in $(seq 54321 54421); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
			[ ! -e "/tmp/.s.PGSQL.$p" ]; then
			echo "$p"
			return 0
		fi
	done
	echo "no free port in 54321-54421" >&2
	return 1
}

step_build() {
	banner "Installing packages, building and installing migration_split"
	bash "$top/test/install-deps.sh"
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	[ -w "$($PG_CONFIG --pkglibdir)" ] && sudo=""
	make -s -C "$top" PG_CONFIG="$PG_CONFIG" >/dev/null
	$sudo make -s -C "$top" PG_CONFIG="$PG_CONFIG" install >/dev/null
	echo "installed into $($PG_CONFIG --pkglibdir)"
}

step_cluster() {
	banner "Starting a throwaway cluster"
	bindir=$($PG_CONFIG --bindir)
	work=$(mktemp -d /tmp/migration_split_demo.XXXXXX)
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$work"
		runas=(runuser -u postgres --)
	fi
	port=$(free_port)
	"${runas[@]}" "$bindir/initdb" -D "$work/data" -U postgres \
		--auth-local=trust --auth-host=scram-sha-256 >/dev/null
	cat >> "$work/data/postgresql.conf" <<CONF
port = $port
listen_addresses = 'localhost'
unix_socket_directories = '$work'
shared_preload_libraries = 'migration_split'
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
fsync = off
CONF
	"${runas[@]}" "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w start >/dev/null
	echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on port $port, data in $work/data"
	echo "connect with: psql -h $work -p $port -U postgres shop"
}

step_load() {
	banner "Loading the shop monolith (demo/shop.sql)"
	"$bindir/createdb" -h "$work" -p "$port" -U postgres shop
	"$bindir/psql" -X -q -h "$work" -p "$port" -U postgres -d shop -v ON_ERROR_STOP=1 \
		-f "$top/demo/shop.sql"
	sql -c '\dt'
}

step_suggest() {
	banner "Which table belongs to which domain? Suggestions"
	sql -c 'CREATE EXTENSION migration_split' \
		-c 'SELECT * FROM migration_split.unowned_tables ORDER BY rel::text' \
		-c 'SELECT * FROM migration_split.suggest_domains()'
	banner "Accepting the suggestions, then one decision of our own"
	sql -c 'SELECT migration_split.apply_suggestions()' \
		-c "-- sessions hold logged-in customers: they move with accounts
SELECT migration_split.assign_table('django_session', 'accounts')" \
		-c "SELECT migration_split.drop_domain('sessions')" \
		-c 'SELECT rel, domain, assigned_by FROM migration_split.table_owners ORDER BY domain, rel::text' \
		-c 'SELECT * FROM migration_split.unowned_tables ORDER BY rel::text' \
		-c "SELECT rel, domain, via FROM migration_split.relation_domains
			 WHERE via <> 'tag' AND rel::text NOT LIKE 'pg_toast.%' ORDER BY rel::text"
}

step_reports() {
	banner "Boundary violations: foreign keys across domains"
	sql -c 'SELECT constraint_name, from_table, from_domain, to_table, to_domain, on_delete
			  FROM migration_split.cross_domain_foreign_keys'
	banner "Ghost dependencies: views, shared sequences, triggers"
	sql -c 'SELECT kind, from_object, from_domain, to_object, to_domain, detail
			  FROM migration_split.cross_domain_dependencies'
	banner "Extraction readiness per domain"
	sql -c 'SELECT domain, tables, total_size_pretty, estimated_rows, fks_out, fks_in,
				   dependencies, blockers, ready
			  FROM migration_split.domain_summary'
}

step_graph() {
	banner "The boundary graph"
	mkdir -p "$out"
	"$bindir/psql" -X -At -h "$work" -p "$port" -U postgres -d shop \
		-c 'SELECT migration_split.boundary_graph()' > "$out/boundary.dot"
	"$bindir/psql" -X -At -h "$work" -p "$port" -U postgres -d shop \
		-c "SELECT migration_split.boundary_graph('mermaid')" > "$out/boundary.mmd"
	echo "wrote $out/boundary.dot and $out/boundary.mmd"
	if command -v dot >/dev/null; then
		dot -Tsvg "$out/boundary.dot" -o "$out/boundary.svg"
		echo "wrote $out/boundary.svg"
	else
		echo "Graphviz (dot) is not installed: no SVG"
	fi
}

steps=(step_build step_cluster step_load step_suggest step_reports step_graph)
for step in "${steps[@]}"; do
	"$step"
	if [ "${DEMO_PAUSE:-0}" = 1 ]; then
		read -r -p "[Enter] " _
	fi
done
banner "Done: the cluster is stopped and removed; the graph stays in demo/out/"
