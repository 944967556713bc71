#!/bin/bash
# The whole product, end to end, on a real Django schema under hostile settings.
#
#   bash bench/django_end_to_end.sh [--no-install]
#
# Builds the throwaway Django project of bench/suggest_accuracy.sh (the real
# Django apps Debian 12 packages: contrib, DRF, allauth, HyperKitty and
# Postorius, celery-beat, django-q, guardian, oauth-toolkit, reversion,
# taggit, ...), migrates it into a temporary cluster, loads realistic data
# (bench/django_e2e/data.sql) and runs the whole story, checking each step:
#
#   suggestions (each table's Django app) -> every table tagged -> every report
#   (foreign keys, dependencies, generic relations of the admin log, taggit,
#   reversion and guardian, boundary graph, extraction plan in both formats,
#   suggested moves, the HTML report) -> HyperKitty's seven foreign keys to
#   auth_user loosened -> init of hyperkitty, oauth2_provider (uuid), axes
#   (inet) and waffle (numeric, many-to-many) into a second database -> stream
#   under Django-like writes (cascading deletes by Django's collector and by
#   the loose keys' queue, M2M, circular deferred keys, TOAST, bytea) ->
#   verify under those writes -> cutover --read-path -> the service writes ->
#   rollback -> the monolith writes -> stream, verify -> cutover again.
#
# Both databases run with hostile defaults: the monolith with an ICU sv-SE
# default collation, DateStyle 'SQL, DMY', IntervalStyle sql_standard,
# extra_float_digits 0, TimeZone Pacific/Chatham (+12:45/+13:45); the service
# with ICU tr-TR, DateStyle 'German, DMY', IntervalStyle iso_8601,
# extra_float_digits 0, TimeZone America/St_Johns (-03:30/-02:30).  After
# each step every table of the extracted domains is compared row for row
# (count and md5 of the rows' text with pinned settings, in byte order);
# the script stops at the first difference ("check failed: ...", exit 1).
#
# Installs the Debian packages it needs (sudo when not root) unless
# --no-install.  Uses PG_CONFIG (default: pg_config on PATH) and installs
# the extension there.  The cluster lives in a new directory under /tmp and
# is removed at the end.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
fixtures=$top/bench/django_e2e
PY=/usr/bin/python3
export PG_CONFIG=${PG_CONFIG:-pg_config}
bindir=$($PG_CONFIG --bindir)
. "$top/bench/django_project.sh"
django_prepare "$top" "${1:-}"

work=$(mktemp -d /tmp/migration_split_django.XXXXXX)
chmod 755 "$work"
runas=()
if [ "$(id -u)" -eq 0 ]; then
	chown postgres: "$work"
	runas=(runuser -u postgres --)
fi
bg_pids=()
cleanup() {
	local status=$? p
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "$status" -ne 0 ] && [ -f "$work/server.log" ]; then
		echo "--- server log (last lines) ---" >&2
		tail -20 "$work/server.log" >&2 || true
	fi
	"${runas[@]}" "$bindir/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=5432
"${runas[@]}" "$bindir/initdb" -D "$work/data" -U postgres --auth-local=trust >/dev/null
cat >> "$work/data/postgresql.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$work'
shared_preload_libraries = 'migration_split'
compute_query_id = on
wal_level = logical
$(bash "$top/test/plugin-libraries-conf.sh" "$bindir" pgoutput test_decoding migration_split)
max_replication_slots = 20
max_wal_senders = 20
fsync = off
CONF
"${runas[@]}" "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w start >/dev/null

fail() {
	printf 'check failed: %s\n' "$*" >&2
	exit 1
}
step() {
	printf '\n==== %s\n' "$*"
}
# psql on database $1 with the database's own (hostile) defaults
sql() {
	local db=$1
	shift
	"$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p "$port" -U postgres -d "$db" "$@"
}
# one value, with the database's own defaults
value() {
	"$bindir/psql" -X -At -v ON_ERROR_STOP=1 -h "$work" -p "$port" -U postgres -d "$1" -c "$2"
}
# check WHAT DB QUERY: the query must return true
check() {
	local got
	got=$(value "$2" "$3") || fail "$1 (the query failed)"
	[ "$got" = t ] || fail "$1 (got \"$got\": $3)"
	echo "ok: $1"
}
SRC="host=$work port=$port user=postgres dbname=django"
TGT="host=$work port=$port user=postgres dbname=service"
ms() {
	"$bindir/migration-split" "$1" --source "$SRC" --target "$TGT" "${@:2}"
}

# every table of domain $3: the monolith's schema $2 (public, or the archive)
# against the service's schema $3, as count and md5 of the rows' text with
# pinned settings, in byte order
compare() {
	local label=$1 ms_schema=$2 dom=$3 t n=0 s d
	local q="SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE \"C\")), '-') FROM"
	for t in $(value django "SELECT table_name FROM migration_split.table_owners
							  WHERE domain = '$dom' AND schema_name = '$ms_schema' ORDER BY 1"); do
		s=$(PGOPTIONS="-c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=3 -c IntervalStyle=postgres" \
			value django "$q $ms_schema.$t t") || fail "cannot read $ms_schema.$t"
		d=$(PGOPTIONS="-c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=3 -c IntervalStyle=postgres" \
			value service "$q $dom.$t t") || fail "cannot read $dom.$t in the service"
		[ "$s" = "$d" ] || fail "$label: $dom.$t differs: monolith ($ms_schema) $s, service $d"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || fail "$label: no table of domain $dom in schema $ms_schema"
	echo "ok: $label: $n tables of $dom identical"
}

round=0
# N rounds of a workload file on database DB (the round number is global)
rounds() {
	local db=$1 file=$2 n=$3 i
	for i in $(seq 1 "$n"); do
		round=$((round + 1))
		sql "$db" -v i=$round -f "$fixtures/$file" >/dev/null || fail "round $round of $file failed"
	done
}
# workloads in the background until $work/stop exists
start_writers() {
	rm -f "$work/stop"
	(
		r=1000
		while [ ! -e "$work/stop" ]; do
			r=$((r + 1))
			sql django -v i=$r -f "$fixtures/workload_hyperkitty.sql" >/dev/null || { echo "hyperkitty round $r failed" >&2; exit 1; }
			if [ $((r % 25)) = 0 ]; then
				sql django -v u=$((170 + r % 30)) -f "$fixtures/userdel.sql" >/dev/null || true
				sql django -c 'SELECT migration_split.process_loose_foreign_keys()' >/dev/null
			fi
		done
	) &
	writer_hk=$!
	(
		r=5000
		while [ ! -e "$work/stop" ]; do
			r=$((r + 1))
			sql django -v i=$r -f "$fixtures/workload_types.sql" >/dev/null || { echo "types round $r failed" >&2; exit 1; }
			# Django's collector deleting an OAuth application, once
			if [ $r = 5010 ]; then
				sql django -v a=3 -f "$fixtures/appdel.sql" >/dev/null || exit 1
			fi
		done
	) &
	writer_types=$!
	bg_pids+=("$writer_hk" "$writer_types")
}
stop_writers() {
	touch "$work/stop"
	wait "$writer_hk" || fail "the HyperKitty writer failed"
	wait "$writer_types" || fail "the uuid/inet/numeric writer failed"
	echo "writers stopped"
}
start_streams() {
	local d
	stream_pids=()
	for d in "$@"; do
		# the program itself in the background (not a subshell): TERM must reach it
		"$bindir/migration-split" stream --source "$SRC" --target "$TGT" --domain "$d" \
			--status-interval=0 >>"$work/stream_$d.log" 2>&1 &
		stream_pids+=($!)
		bg_pids+=($!)
	done
}
stop_streams() {
	local p
	for p in "${stream_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" || true; done
}

SECONDS=0
step "Django project, migrated, with hostile defaults on both databases"
sql postgres -c "CREATE DATABASE django TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'sv-SE' LOCALE 'C.utf8'" \
	-c "CREATE DATABASE service TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'tr-TR' LOCALE 'C.utf8'"
django_project "$work/project" "$work" "$port" django
export DJANGO_SETTINGS_MODULE=settings PYTHONPATH="$work/project"
if ! (cd "$work/project" && $PY -W ignore -m django migrate -v 0 >"$work/migrate.log" 2>&1); then
	cat "$work/migrate.log" >&2
	fail "manage.py migrate failed"
fi
(cd "$work/project" && $PY -W ignore truth.py 2>/dev/null) >"$work/truth.tsv"
echo "$(wc -l <"$work/truth.tsv") tables of $(cut -f2 "$work/truth.tsv" | sort -u | wc -l) Django apps"
sql postgres <<'SQL'
ALTER DATABASE django SET DateStyle = 'SQL, DMY';
ALTER DATABASE django SET IntervalStyle = 'sql_standard';
ALTER DATABASE django SET extra_float_digits = 0;
ALTER DATABASE django SET TimeZone = 'Pacific/Chatham';
ALTER DATABASE django SET lc_monetary = 'C.utf8';
ALTER DATABASE service SET DateStyle = 'German, DMY';
ALTER DATABASE service SET IntervalStyle = 'iso_8601';
ALTER DATABASE service SET extra_float_digits = 0;
ALTER DATABASE service SET TimeZone = 'America/St_Johns';
ALTER DATABASE service SET lc_monetary = 'C.utf8';
SQL

step "Suggestions: each table's Django app"
sql django -c 'CREATE EXTENSION migration_split' \
	-c 'CREATE TEMPORARY TABLE truth (table_name text PRIMARY KEY, app_label text)' \
	-c "\\copy truth FROM '$work/truth.tsv'" \
	-c "CREATE TABLE suggestion_misses AS SELECT t.table_name, s.domain, t.app_label
		  FROM truth t LEFT JOIN migration_split.suggest_domains() s ON s.rel = t.table_name::regclass
		 WHERE s.domain IS DISTINCT FROM t.app_label"
value django "SELECT format('  miss: %s -> %s (app %s)', table_name, domain, app_label) FROM suggestion_misses"
check "every suggested domain is the table's Django app" django \
	"SELECT NOT EXISTS (SELECT FROM suggestion_misses)"
sql django -c 'DROP TABLE suggestion_misses' -c 'SELECT migration_split.apply_suggestions()' >/dev/null
check "every table is tagged" django "SELECT NOT EXISTS (SELECT FROM migration_split.unowned_tables)"

step "Realistic data, written with DMY dates and a +13:45 time zone"
sql django -f "$fixtures/data.sql"
echo "$(value django "SELECT sum(n_live_tup) FROM pg_stat_user_tables") rows"

step "Every report"
check "7 cross-domain foreign keys of hyperkitty, all to auth_user" django \
	"SELECT count(*) = 7 AND bool_and(to_table = 'auth_user'::regclass)
	   FROM migration_split.cross_domain_foreign_keys WHERE from_domain = 'hyperkitty'"
check "no other cross-domain dependency (views, triggers, sequences)" django \
	"SELECT NOT EXISTS (SELECT FROM migration_split.cross_domain_dependencies)"
sql django -c "SELECT from_table, type_column, id_column, to_table, rows FROM migration_split.cross_domain_generic_relations ORDER BY 1, 4"
check "generic relations counted from the data: admin log, reversion, taggit, guardian" django \
	"SELECT array_agg(format('%s>%s:%s', from_table, to_table, rows) ORDER BY from_table::text, to_table::text)
	      = ARRAY['django_admin_log>hyperkitty_email:75', 'django_admin_log>hyperkitty_thread:75',
	              'guardian_userobjectpermission>hyperkitty_mailinglist:' || (SELECT count(*) FROM guardian_userobjectpermission),
	              'reversion_version>hyperkitty_mailinglist:200', 'taggit_taggeditem>auth_user:100',
	              'taggit_taggeditem>hyperkitty_thread:200']
	   FROM migration_split.cross_domain_generic_relations"
value django "SELECT migration_split.boundary_graph('dot')" >"$work/graph.dot"
value django "SELECT migration_split.boundary_graph('mermaid', 'table', 'hyperkitty')" >"$work/graph.mmd"
if command -v dot >/dev/null; then
	dot -Tsvg "$work/graph.dot" >/dev/null || fail "the boundary graph is not valid DOT"
	echo "ok: the boundary graph renders with Graphviz"
fi
value django "SELECT detail FROM migration_split.extraction_plan('hyperkitty', 'markdown')" >"$work/plan.md"
grep -q '^| 1 | readiness | blocking items | resolve the steps below | 9 blocking: 7 foreign keys out' "$work/plan.md" ||
	fail "the Markdown plan does not start with 9 blocking items: $(sed -n 5p "$work/plan.md")"
! grep -Eq '[0-9]{2}/[0-9]{2}/[0-9]{4}' "$work/plan.md" || fail "the Markdown plan has DMY dates"
echo "ok: the Markdown plan: $(grep -c '^| [0-9]' "$work/plan.md") steps, ISO dates"
check "the table plan has the same steps" django \
	"SELECT count(*) = $(grep -c '^| [0-9]' "$work/plan.md") FROM migration_split.extraction_plan('hyperkitty')"
sql django -c 'SELECT rel, from_domain, to_domain, net FROM migration_split.suggest_moves() LIMIT 5'
"$bindir/migration-split" report --source "$SRC" --html "$work/report.html" --markdown "$work/report.md"
[ "$(grep -c '<section class="domain"' "$work/report.html")" = "$(value django "SELECT count(*) FROM migration_split.domains")" ] ||
	fail "the HTML report has not one section per domain"
echo "ok: the HTML report has a section for each of the $(value django "SELECT count(*) FROM migration_split.domains") domains"

step "Loosen HyperKitty's foreign keys to auth_user (Django's CASCADE)"
sql django -c "SELECT migration_split.loosen_foreign_key(from_table, constraint_name, 'cascade')
				 FROM migration_split.cross_domain_foreign_keys WHERE from_domain = 'hyperkitty'" >/dev/null
check "hyperkitty has no foreign key across its boundary left" django \
	"SELECT fks_out = 0 AND fks_in = 0 FROM migration_split.domain_summary WHERE domain = 'hyperkitty'"

step "init: hyperkitty, oauth2_provider (uuid), axes (inet), waffle (numeric)"
domains=(hyperkitty oauth2_provider axes waffle)
for d in "${domains[@]}"; do
	ms init --domain "$d" --jobs 2 --no-progress >"$work/init_$d.log" 2>&1 || { cat "$work/init_$d.log"; fail "init $d"; }
	tail -1 "$work/init_$d.log"
done
grep -q 'warning: the default collation of the target database (ICU locale "tr-TR") differs from the source'"'"'s (ICU locale "sv-SE")' \
	"$work/init_hyperkitty.log" || fail "init did not warn of the service's other default collation"
echo "ok: init warned of the service's other default collation"
for d in "${domains[@]}"; do compare "after init" public "$d"; done

step "stream and verify under Django-like writes"
start_streams "${domains[@]}"
start_writers
sleep 3
for d in "${domains[@]}"; do
	ms verify --domain "$d" --jobs 2 --no-progress 2>&1 | tail -1
done
sleep 2
stop_writers
sql django -c 'SELECT migration_split.process_loose_foreign_keys()' >/dev/null
for d in "${domains[@]}"; do
	ms verify --domain "$d" --jobs 2 --no-progress >"$work/verify_$d.log" 2>&1 || { cat "$work/verify_$d.log"; fail "verify $d"; }
done
stop_streams
for d in "${domains[@]}"; do compare "after the writes" public "$d"; done

step "cutover --read-path of hyperkitty"
ms cutover --domain hyperkitty --read-path >"$work/cutover1.log" 2>&1 || { cat "$work/cutover1.log"; fail "cutover"; }
grep -E '^cutover of|loose foreign key' "$work/cutover1.log"
[ "$(grep -c '^  - loose foreign key' "$work/cutover1.log")" = 7 ] || fail "cutover did not list the 7 loose keys"
compare "after cutover (archive)" migration_split_archive hyperkitty
compare "after cutover (read path)" public hyperkitty
if err=$("$bindir/psql" -X -h "$work" -p "$port" -U postgres -d django -v ON_ERROR_STOP=1 -c '\set VERBOSITY verbose' \
	-c "UPDATE migration_split_archive.hyperkitty_email SET subject = 'x' WHERE id = 1" 2>&1); then
	fail "the monolith took a write of hyperkitty after the cutover"
fi
grep -q 'ERROR:  MS002' <<<"$err" || fail "the refused write did not fail with MS002: $err"
echo "ok: the monolith refuses writes to hyperkitty (MS002)"
check "joins of the read path with auth_user find what the archived tables find" django \
	"SELECT (SELECT count(*) FROM hyperkitty_profile p JOIN auth_user u ON u.id = p.user_id)
	      = (SELECT count(*) FROM migration_split_archive.hyperkitty_profile p JOIN auth_user u ON u.id = p.user_id)"

step "the service writes (German dates, St. John's time), then rollback"
rounds service workload_service.sql 20
compare "the read path shows the service's writes" public hyperkitty
ms rollback --domain hyperkitty >"$work/rollback.log" 2>&1 || { cat "$work/rollback.log"; fail "rollback"; }
grep '^rollback of' "$work/rollback.log"
compare "after rollback" public hyperkitty

step "the monolith writes again; stream, verify, cutover again"
rounds django workload_hyperkitty.sql 20
start_streams hyperkitty
ms cutover --domain hyperkitty --read-path --dry-run >"$work/cutover_stale.log" 2>&1 && fail "cutover went ahead on the verification from before the rollback"
grep 'preflight failed' "$work/cutover_stale.log"
ms verify --domain hyperkitty --no-progress 2>&1 | tail -1
stop_streams
ms cutover --domain hyperkitty --read-path >"$work/cutover2.log" 2>&1 || { cat "$work/cutover2.log"; fail "second cutover"; }
grep '^cutover of' "$work/cutover2.log"
compare "after the second cutover (archive)" migration_split_archive hyperkitty
compare "after the second cutover (read path)" public hyperkitty
id=$(value service "WITH n AS (INSERT INTO hyperkitty.hyperkitty_tag (name) VALUES ('after the second cutover') RETURNING id) SELECT id FROM n")
check "the monolith reads the service's new row" django "SELECT count(*) = 1 FROM hyperkitty_tag WHERE id = $id"

echo
echo "done in $SECONDS s: $round scripted rounds, $(value django "SELECT count(*) FROM hyperkitty_email WHERE message_id LIKE '<live%'") HyperKitty replies written, every comparison equal"
