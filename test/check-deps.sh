#!/bin/bash
# Check that test/install-deps.sh installs everything that building, testing
# and the demo need on a Debian 12 machine that has nothing but minbase.
#
#   bash test/check-deps.sh [--packages FILE] [--trace STRACE_LOG]
#   bash test/check-deps.sh --self-test
#
# What is needed, as files:
#   - every library of the link lines of the extension and of the job
#     (each -l resolved the way the linker does: the -L directories, then the
#     compiler's search directories);
#   - every header the sources include (gcc -M with the build's own flags);
#   - every Perl module the TAP tests use;
#   - every program the tests and the demo ran: the successful execve calls
#     of an strace log of the run (test/run.sh records one when CI=true),
#     plus the programs and output plugin or server libraries the
#     benchmarks use (not run by CI: listed below).
# Each file is mapped to its Debian package with dpkg -S (a file under a
# relocated copy of a package, like /opt/x/usr/..., as its /usr/... path).
# Files of this project (its tree, its installed program and library,
# scratch directories under /tmp) are skipped.
#
# What is allowed: the packages install-deps.sh lists (or FILE, one per
# line), the packages of a Debian minbase (Priority required, Essential,
# and apt), and, recursively, what those depend on (Depends and Pre-Depends
# of the installed packages; of an "a | b" alternative the one apt would
# choose: the first, or the installed providers of a virtual first one).
# That is what "apt-get install --no-install-recommends" of the list brings
# onto a minbase.  A needed package outside it makes the check fail, naming
# the package and the files that need it.
#
# --self-test proves the check can fail: with zlib1g-dev (which the job's
# link line needs for -lz) removed from the list, it must fail and name it;
# with the full list it must pass.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export PG_CONFIG=${PG_CONFIG:-pg_config}

# Programs the benchmarks call (bench/*.sh; CI does not run them): those of
# the PostgreSQL installation, and others found on PATH.
bench_programs=(initdb pg_ctl pg_dump pg_restore pgbench psql postgres pg_recvlogical createdb)
bench_path_programs=(pgcopydb)
# Libraries of the peers the benchmarks load into the server (output
# plugins, shared_preload_libraries).
bench_libraries=(wal2json pglogical pglogical_output)

packages_file=""
trace=""
self_test=false
while [ $# -gt 0 ]; do
	case "$1" in
		--packages) packages_file=$2; shift 2 ;;
		--trace) trace=$2; shift 2 ;;
		--self-test) self_test=true; shift ;;
		*) echo "check-deps: unknown option $1" >&2; exit 2 ;;
	esac
done

if $self_test; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	bash test/install-deps.sh --list >"$tmp/full"
	grep -vx 'zlib1g-dev' "$tmp/full" >"$tmp/without-zlib"
	if cmp -s "$tmp/full" "$tmp/without-zlib"; then
		echo "check-deps self-test: zlib1g-dev is not in install-deps.sh's list"
		exit 1
	fi
	if bash "$0" --packages "$tmp/without-zlib" >"$tmp/out" 2>&1; then
		cat "$tmp/out"
		echo "check-deps self-test FAILED: the check passed without zlib1g-dev in the list"
		exit 1
	fi
	if ! grep -q '^missing package zlib1g-dev ' "$tmp/out"; then
		cat "$tmp/out"
		echo "check-deps self-test FAILED: the check failed without naming zlib1g-dev"
		exit 1
	fi
	if ! bash "$0" --packages "$tmp/full" >"$tmp/out" 2>&1; then
		cat "$tmp/out"
		echo "check-deps self-test FAILED: the check fails with the full list"
		exit 1
	fi
	echo "check-deps self-test: ok (fails without zlib1g-dev, passes with the full list)"
	exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "$packages_file" ]; then
	grep -v '^[[:space:]]*$' "$packages_file" >"$work/list"
else
	bash test/install-deps.sh --list >"$work/list"
fi

needed="$work/needed"		# lines "path<TAB>why"
: >"$needed"

# 1. Link lines and compile lines, as make would run them.
make -n -B -s PG_CONFIG="$PG_CONFIG" all >"$work/make.out" 2>/dev/null
make -n -B -s -C src/job PG_CONFIG="$PG_CONFIG" >>"$work/make.out" 2>/dev/null
grep -E -- '-o (migration-split|migration_split\.so)( |$)' "$work/make.out" >"$work/links"
if [ "$(wc -l <"$work/links")" -lt 2 ]; then
	echo "check-deps: could not find the link lines of migration_split.so and migration-split in make -n" >&2
	exit 2
fi
searchdirs=$(gcc -print-search-dirs | sed -n 's/^libraries: =//p' | tr ':' '\n')
while read -r line; do
	ldirs=()
	for tok in $line; do
		case "$tok" in -L*) ldirs+=("${tok#-L}") ;; esac
	done
	for tok in $line; do
		case "$tok" in
			-l*)
				lib=${tok#-l}
				found=""
				for dir in "${ldirs[@]}" $searchdirs; do
					for f in "$dir/lib$lib.so" "$dir/lib$lib.a"; do
						if [ -e "$f" ]; then found=$f; break 2; fi
					done
				done
				if [ -z "$found" ]; then
					echo "missing library -l$lib of a link line (no lib$lib.so or lib$lib.a found)"
					echo "-l$lib" >>"$work/unresolved"
				else
					printf '%s\tlink -l%s\n' "$found" "$lib" >>"$needed"
				fi
				;;
		esac
	done
done <"$work/links"

# headers: each compile line with -M instead of -c -o
grep -E '^(gcc|cc|clang)\b.* -c ' "$work/make.out" | while read -r line; do
	dir=.
	case "$line" in *" -o "*.o" "*) ;; esac
	cmd=$(sed -E 's/ -c / -M /; s/ -o [^ ]+\.o / /' <<<"$line")
	# the job's lines run in src/job
	if grep -qE '(^| )[a-z_]+\.c$' <<<"$cmd" && ! grep -q 'src/' <<<"$cmd"; then dir=src/job; fi
	(cd "$dir" && eval "$cmd" 2>/dev/null) | tr ' \\' '\n\n' | grep '^/' |
		sed 's/$/\theader/'
done | sort -u >>"$needed"

# 2. Perl modules of the TAP tests, with every module they load in turn
# (loaded in a scratch directory: PostgreSQL::Test::Utils makes tmp_check).
pgxs_perl="$(dirname "$($PG_CONFIG --pgxs)")/../../src/test/perl"
# the project's own modules (test/perl) are not packages; what they use is
own_mods=$(for f in test/perl/*.pm; do basename "$f" .pm; done)
mods=$(grep -hoE '^use +[A-Z][A-Za-z0-9_:]*' test/t/*.pl test/perl/*.pm | awk '{print $2}' |
	grep -vxF "$own_mods" | sort -u)
if ! (cd "$work" && TESTDIR="$work" perl -I "$pgxs_perl" \
	$(for m in $mods; do printf -- '-M%s ' "$m"; done) \
	-e 'print "$_\n" for values %INC' >"$work/perlmods" 2>"$work/perlerr"); then
	echo "missing Perl module(s) of the TAP tests: $(head -1 "$work/perlerr")"
	echo perl >>"$work/unresolved"
fi
sed 's/$/\tPerl module of the TAP tests/' "$work/perlmods" >>"$needed"

# 3. Programs: the traced run, and the benchmarks' list.
if [ -n "$trace" ]; then
	grep -hoE 'execve\("[^"]+", .*\) = 0' "$trace" | sed -E 's/^execve\("([^"]+)".*/\1/' | sort -u |
		sed 's/$/\tprogram run by the tests or the demo/' >>"$needed"
fi
for p in "${bench_programs[@]}"; do
	printf '%s\tprogram of the benchmarks\n' "$($PG_CONFIG --bindir)/$p" >>"$needed"
done
for p in "${bench_path_programs[@]}"; do
	printf '%s\tprogram of the benchmarks\n' "$(command -v "$p" || echo "/usr/bin/$p")" >>"$needed"
done
for l in "${bench_libraries[@]}"; do
	printf '%s\tserver library of the benchmarks\n' "$($PG_CONFIG --pkglibdir)/$l.so" >>"$needed"
done

# 4. Files to packages, and the check.
python3 - "$work/list" "$needed" "$top" "$($PG_CONFIG --bindir)" "$($PG_CONFIG --pkglibdir)" <<'PY'
import os, re, subprocess, sys

list_file, needed_file, top, bindir, pkglibdir = sys.argv[1:6]
listed = [l.strip() for l in open(list_file) if l.strip()]

# installed packages: name -> (priority, essential, depends, provides)
fmt = '${Package}\t${db:Status-Abbrev}\t${Priority}\t${Essential}\t${Pre-Depends}, ${Depends}\t${Provides}\n'
out = subprocess.run(['dpkg-query', '-W', '-f=' + fmt], capture_output=True, text=True).stdout
pkgs = {}
providers = {}
for line in out.splitlines():
    name, status, prio, ess, deps, provides = (line.split('\t') + [''] * 6)[:6]
    if not status.startswith('ii'):
        continue
    pkgs[name] = (prio, ess, deps)
    for p in provides.split(','):
        p = re.sub(r'\(.*?\)', '', p).strip().split(':')[0]
        if p:
            providers.setdefault(p, []).append(name)

def resolve(name):
    name = name.split(':')[0]
    if name in pkgs:
        return [name]
    return providers.get(name, [])

seeds = set(listed) | {'apt'}
seeds |= {n for n, (prio, ess, _) in pkgs.items() if prio == 'required' or ess == 'yes'}
allowed = set()
todo = list(seeds)
while todo:
    n = todo.pop()
    if n in allowed:
        continue
    allowed.add(n)
    if n not in pkgs:
        continue
    for group in pkgs[n][2].split(','):
        alts = [re.sub(r'\(.*?\)|\[.*?\]', '', a).strip() for a in group.split('|')]
        alts = [a for a in alts if a]
        if not alts:
            continue
        # what apt would install: the first alternative (or its providers)
        for cand in resolve(alts[0]):
            todo.append(cand)

# every file of every installed package, from dpkg's own lists (one read,
# where "dpkg -S" per file would take a second each)
files = {}
infodir = '/var/lib/dpkg/info'
for f in os.listdir(infodir):
    if f.endswith('.list'):
        pkg = f[:-5].split(':')[0]
        with open(os.path.join(infodir, f), errors='replace') as fh:
            for line in fh:
                files.setdefault(line.rstrip('\n'), []).append(pkg)

def owner(path):
    cands = [path]
    real = os.path.realpath(path)
    if real != path:
        cands.append(real)
    for p in list(cands):
        if p.startswith('/usr/'):
            cands.append(p[4:])
        elif re.match(r'^/(bin|sbin|lib|lib64)/', p):
            cands.append('/usr' + p)
        m = re.match(r'^/.+?(/usr/.*)$', p)
        if m and not p.startswith('/usr/'):
            cands.append(m.group(1))
    for p in cands:
        p = os.path.normpath(p)
        if p in files:
            return files[p]
    # a program found first in a directory of this machine's own (a shim in
    # root's PATH): a fresh machine runs the packaged one of the same name
    base = os.path.basename(path)
    for d in ('/usr/bin', '/usr/sbin', '/bin', '/sbin'):
        if os.access(path, os.X_OK) and d + '/' + base in files:
            return files[d + '/' + base]
    return None

own = ('migration-split', 'migration_split.so')
needs = {}
unowned = []
for line in open(needed_file):
    path, _, why = line.rstrip('\n').partition('\t')
    # /proc/self/exe: a program starting itself again (Chromium's helper
    # processes); the program itself is in the trace under its own name
    if (path.startswith(top + '/') or path.startswith('/tmp/') or
            path.startswith('/proc/') or
            os.path.basename(path) in own or
            os.path.basename(path).startswith('migration_split')):
        continue
    o = owner(path)
    if o is None:
        unowned.append((path, why))
        continue
    if any(p in allowed for p in o):
        continue
    needs.setdefault(o[0], []).append('%s (%s)' % (path, why))

bad = False
for pkg in sorted(needs):
    bad = True
    files = sorted(set(needs[pkg]))
    print('missing package %s is needed but test/install-deps.sh does not install it: %s%s'
          % (pkg, '; '.join(files[:3]), ' and %d more' % (len(files) - 3) if len(files) > 3 else ''))
for path, why in sorted(set(unowned)):
    bad = True
    print('file %s (%s) belongs to no Debian package: install-deps.sh cannot install it' % (path, why))
print('check-deps: %d files checked against %d listed packages (%d with dependencies and minbase)'
      % (sum(1 for _ in open(needed_file)), len(listed), len(allowed)))
sys.exit(1 if bad else 0)
PY
status=$?
[ -s "$work/unresolved" ] && status=1
exit $status
