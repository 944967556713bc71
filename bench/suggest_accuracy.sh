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
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

packages=(python3-django python3-psycopg2 python3-djangorestframework
	python3-django-allauth python3-django-hyperkitty python3-django-postorius
	python3-django-celery-beat python3-django-q python3-django-guardian
	python3-django-oauth-toolkit python3-django-reversion python3-django-taggit
	python3-django-organizations python3-django-axes python3-django-cas-server
	python3-django-invitations python3-django-waffle python3-django-tagging
	python3-django-otp)
if [ "${1:-}" != "--no-install" ]; then
	bash "$top/test/install-deps.sh"
	missing=()
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		$SUDO apt-get update -q
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi
	[ -w "$($PG_CONFIG --pkglibdir)" ] && SUDO=""
	make -s -C "$top" PG_CONFIG="$PG_CONFIG" >/dev/null
	$SUDO make -s -C "$top" install PG_CONFIG="$PG_CONFIG" >/dev/null
fi

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
mkdir -p "$work/project"
cat > "$work/project/settings.py" <<PYEOF
import importlib
SECRET_KEY = 'bench'
USE_TZ = True
SITE_ID = 1
ROOT_URLCONF = 'urls'
DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'
DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': 'django',
                         'HOST': '$work', 'PORT': '5432', 'USER': 'postgres'}}
candidates = [
    'django.contrib.admin', 'django.contrib.auth', 'django.contrib.contenttypes',
    'django.contrib.sessions', 'django.contrib.messages', 'django.contrib.sites',
    'django.contrib.flatpages', 'django.contrib.redirects',
    'rest_framework', 'rest_framework.authtoken', 'taggit', 'django_celery_beat',
    'guardian', 'oauth2_provider', 'reversion', 'django_q', 'organizations',
    'allauth', 'allauth.account', 'allauth.socialaccount',
    'django_mailman3', 'hyperkitty', 'postorius', 'haystack',
    'axes', 'cas_server', 'invitations', 'waffle', 'tagging',
    'django_otp', 'django_otp.plugins.otp_static',
    'django_otp.plugins.otp_totp', 'django_otp.plugins.otp_hotp',
    'django_otp.plugins.otp_email',
]
def _installed(name):
    # an app whose package is missing or broken (a missing dependency) is left out
    try:
        importlib.import_module(name)
        return True
    except Exception as e:
        return type(e).__name__ in ('AppRegistryNotReady', 'ImproperlyConfigured')
INSTALLED_APPS = [a for a in candidates if _installed(a)]
MIDDLEWARE = []
TEMPLATES = [{'BACKEND': 'django.template.backends.django.DjangoTemplates', 'APP_DIRS': True}]
HAYSTACK_CONNECTIONS = {'default': {'ENGINE': 'haystack.backends.simple_backend.SimpleEngine'}}
Q_CLUSTER = {'orm': 'default'}
SILENCED_SYSTEM_CHECKS = ['admin.E402', 'admin.E404', 'admin.E408', 'admin.E409',
                          'admin.E410', 'admin.W411', 'guardian.W001']
PYEOF
echo "urlpatterns = []" > "$work/project/urls.py"
# The truth, from Django itself.
cat > "$work/project/truth.py" <<'PYEOF'
import django
django.setup()
from django.apps import apps
tables = {}
for model in apps.get_models(include_auto_created=True):
    if model._meta.managed and not model._meta.proxy:
        tables[model._meta.db_table] = model._meta.app_label
for table, label in sorted(tables.items()):
    print(f"{table}\t{label}")
PYEOF
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
