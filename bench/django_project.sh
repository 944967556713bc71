# Shared by bench/suggest_accuracy.sh and bench/django_end_to_end.sh: a
# throwaway Django project made of the real Django apps Debian 12 packages.
#
#   . bench/django_project.sh
#   django_install                    # the Debian packages (sudo when not root)
#   django_prepare TOP [--no-install] # those, test/install-deps.sh's, and the
#                                     # extension built and installed for PG_CONFIG
#   django_project DIR HOST PORT DB   # settings.py, urls.py, truth.py in DIR
#
# truth.py prints every table of the project with its Django app label
# (apps.get_models(): db_table and app_label, plus automatic many-to-many
# tables).  Apps whose package is missing or broken are left out.

django_packages=(python3-django python3-psycopg2 python3-djangorestframework
	python3-django-allauth python3-django-hyperkitty python3-django-postorius
	python3-django-celery-beat python3-django-q python3-django-guardian
	python3-django-oauth-toolkit python3-django-reversion python3-django-taggit
	python3-django-organizations python3-django-axes python3-django-cas-server
	python3-django-invitations python3-django-waffle python3-django-tagging
	python3-django-otp)

django_install() {
	local sudo="" p missing=()
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	for p in "${django_packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		$sudo apt-get update -q
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi
}

django_prepare() {
	local top=$1 sudo=""
	[ "${2:-}" = "--no-install" ] && return 0
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	bash "$top/test/install-deps.sh"
	django_install
	[ -w "$($PG_CONFIG --pkglibdir)" ] && sudo=""
	make -s -C "$top" PG_CONFIG="$PG_CONFIG" >/dev/null
	$sudo make -s -C "$top" install PG_CONFIG="$PG_CONFIG" >/dev/null
}

django_project() {
	local dir=$1 host=$2 port=$3 db=$4
	mkdir -p "$dir"
	cat > "$dir/settings.py" <<PYEOF
import importlib
SECRET_KEY = 'bench'
USE_TZ = True
SITE_ID = 1
ROOT_URLCONF = 'urls'
DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'
DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': '$db',
                         'HOST': '$host', 'PORT': '$port', 'USER': 'postgres'}}
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
	echo "urlpatterns = []" > "$dir/urls.py"
	cat > "$dir/truth.py" <<'PYEOF'
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
}
