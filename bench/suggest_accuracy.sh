#!/bin/bash
# How often does migration_split.suggest_domains() name a table's Django app?
#
#   bash bench/suggest_accuracy.sh [--no-install]
#
# Builds a throwaway Django project from the real Django apps Debian packages
# (Django's contrib apps, Django REST framework, allauth, Mailman 3's
# HyperKitty and Postorius, django-celery-beat, django-q, guardian,
# oauth-toolkit, reversion, taggit, organizations, axes, cas-server, otp,
# invitations, waffle, tagging), migrates it into a
# temporary PostgreSQL cluster, and compares every suggested domain with the
# app label Django itself gives the table (apps.get_models(): db_table and
# app_label, plus automatic many-to-many tables).  Prints the accuracy twice:
# with the content types Django's post_migrate fills in, and with
# django_content_type emptied (suggestions from django_migrations, naming and
# foreign keys alone).
#
# Installs the Debian packages it needs (sudo when not root) unless
# --no-install; apps that are not installed are left out.  Uses PG_CONFIG
# (default: pg_config on PATH) and installs the extension there.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
export PG_CONFIG=${PG_CONFIG:-pg_config}
bindir=$($PG_CONFIG --bindir)
. "$top/bench/django_project.sh"
django_prepare "$top" "${1:-}"

work=$(mktemp -d /tmp/migration_split_suggest.XXXXXX)
runas=()
if [ "$(id -u)" -eq 0 ]; then
	chown postgres: "$work"
	runas=(runuser -u postgres --)
fi
cleanup() {
	"${runas[@]}" "$bindir/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# A private cluster listening only on a socket in $work.
"${runas[@]}" "$bindir/initdb" -D "$work/data" -A trust -U postgres >/dev/null
"${runas[@]}" "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w \
	-o "-c listen_addresses='' -k $work -p 5432 -c fsync=off" start >/dev/null
psql() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p 5432 -U postgres "$@"; }
psql -d postgres -c 'CREATE DATABASE django'

# The Django project: every candidate app whose Python package is installed.
django_project "$work/project" "$work" 5432 django
export DJANGO_SETTINGS_MODULE=settings PYTHONPATH="$work/project"
if ! (cd "$work/project" && $PY -W ignore -m django migrate -v 0 > "$work/migrate.log" 2>&1); then
	cat "$work/migrate.log" >&2
	echo "manage.py migrate failed" >&2
	exit 1
fi
(cd "$work/project" && $PY -W ignore truth.py 2>/dev/null) > "$work/truth.tsv"
napps=$(cut -f2 "$work/truth.tsv" | sort -u | wc -l)
echo "Django project: $(wc -l < "$work/truth.tsv") tables of $napps apps"

psql -d django -c 'CREATE EXTENSION migration_split' \
	-c 'CREATE TABLE truth (table_name text PRIMARY KEY, app_label text)' \
	-c "\\copy truth FROM '$work/truth.tsv'"

measure() {
	psql -d django -At -v label="$1" <<'SQL'
SELECT format('%s: %s of %s tables (%s%%)', :'label', count(*) FILTER (WHERE s.domain = t.app_label),
	   count(*), round(100.0 * count(*) FILTER (WHERE s.domain = t.app_label) / count(*), 1))
  FROM truth t
  LEFT JOIN migration_split.suggest_domains() s ON s.rel = t.table_name::regclass;
SELECT format('  miss: %s -> %s (app %s; %s)', t.table_name, coalesce(s.domain, 'none'),
	   t.app_label, s.reason)
  FROM truth t
  LEFT JOIN migration_split.suggest_domains() s ON s.rel = t.table_name::regclass
 WHERE s.domain IS DISTINCT FROM t.app_label
 ORDER BY 1;
SQL
}
echo "accuracy (suggested domain = Django app label):"
measure "with content types"
# Foreign keys to django_content_type would refuse the delete: skip them.
psql -d django -c 'SET session_replication_role = replica' -c 'DELETE FROM django_content_type'
measure "without content types"
# Names and foreign keys alone: no content types, no migration history.
psql -d django -c 'DELETE FROM django_migrations'
measure "from names and foreign keys only"
