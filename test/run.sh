#!/bin/bash
# Run every test of migration_split: pg_regress suites, isolation specs and
# TAP scenarios, each on private temporary clusters.
#
#   bash test/run.sh                      # everything
#   bash test/run.sh REGRESS=ownership ISOLATION= TAP_TESTS=   # a subset
#   bash test/run.sh REGRESS= ISOLATION= PROVE_TESTS=test/t/001_install.pl
#
# Arguments are passed to "make installcheck".  PG_CONFIG selects another
# PostgreSQL installation (default: pg_config on PATH).
# Installs missing Debian packages, builds with -Werror, installs the
# extension (sudo when not root), then runs "make installcheck" as an
# unprivileged user in a scratch copy of the tree (initdb refuses root).
# A full run (no arguments) also runs the demo, demo/run.sh, and the
# fuzzer, test/fuzz.sh (about 80 s), each counted as one test (SKIP_DEMO=1,
# SKIP_FUZZ=1 leave them out).  With CI=true (as .ci/run runs it), the
# programs the tests, the demo and the fuzzer start are traced and
# test/check-deps.sh checks that test/install-deps.sh installs every package
# they, the build and the tests need (two more tests: the check and its
# self-test).  Ends with one line "tests: N passed, M failed".
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash test/install-deps.sh || exit 1

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

export PG_CONFIG=${PG_CONFIG:-pg_config}
[ -w "$($PG_CONFIG --pkglibdir)" ] && SUDO=""
make -s WERROR=1 PG_CONFIG="$PG_CONFIG" >/dev/null || { echo "build failed"; exit 1; }
$SUDO make -s install PG_CONFIG="$PG_CONFIG" >/dev/null || { echo "install failed"; exit 1; }

# Run as the invoking user, or as "postgres" when that is root.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/migration_split_test.XXXXXX")
cp -a "$top"/. "$scratch"/ && rm -rf "$scratch"/.git "$scratch"/tmp_check* "$scratch"/results "$scratch"/output_iso
runas=()
if [ "$(id -u)" -eq 0 ]; then
	chown -R postgres: "$scratch"
	runas=(runuser -u postgres --)
fi
# Test artefacts kept after the scratch copy is gone (the screenshot of the
# HTML report taken by test/t/062_report_browser.pl): tmp_check/artefacts.
# When the tree is where the test user cannot write (a clone in /root, run
# as root), they go to ${TMPDIR:-/tmp}/migration_split_artefacts instead.
export MS_TEST_ARTEFACTS=${MS_TEST_ARTEFACTS:-$top/tmp_check/artefacts}
mkdir -p "$MS_TEST_ARTEFACTS" && [ "$(id -u)" -eq 0 ] && chown postgres: "$MS_TEST_ARTEFACTS"
if ! "${runas[@]}" test -w "$MS_TEST_ARTEFACTS"; then
	MS_TEST_ARTEFACTS=${TMPDIR:-/tmp}/migration_split_artefacts
	mkdir -p "$MS_TEST_ARTEFACTS" && [ "$(id -u)" -eq 0 ] && chown postgres: "$MS_TEST_ARTEFACTS"
	echo "test artefacts go to $MS_TEST_ARTEFACTS"
fi

# In CI, record every program the tests and the demo start (strace, only
# execve: cheap), so that test/check-deps.sh can prove install-deps.sh
# installs all of them.
trace=()
if [ "${CI:-}" = true ]; then
	if command -v strace >/dev/null; then
		trace=(strace -f --seccomp-bpf -qq -e trace=execve -e signal=none -o "$scratch/execs.trace")
	else
		echo "strace is not installed: cannot check the programs the tests run"
		exit 1
	fi
fi

log="$scratch/installcheck.log"
( cd "$scratch" && "${trace[@]}" "${runas[@]}" make -s installcheck PG_CONFIG="$PG_CONFIG" "$@" ) 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Tally: one per pg_regress or isolation test, one per TAP assertion.
read -r npass nfail < <(awk '
	/^(test +| +)[^ \/]+ +\.\.\. ok/ { p++ }
	/^(test +| +)[^ \/]+ +\.\.\. FAILED/ { f++ }
	/^Files=[0-9]+, Tests=[0-9]+/ { split($2, a, "="); p += a[2] + 0 }
	/Failed [0-9]+\/[0-9]+ subtests/ { split($2, a, "/"); p -= a[1]; f += a[1] }
	END { printf "%d %d\n", p, f }' "$log")

# The demo is the README's first command: it must keep working.  Run it
# only for a full run (no make variables given).
if [ $# -eq 0 ] && [ -z "${SKIP_DEMO:-}" ]; then
	[ ${#trace[@]} -gt 0 ] && trace[-1]="$scratch/demo.trace"
	if "${trace[@]}" bash "$top/demo/run.sh" >"$scratch/demo.log" 2>&1; then
		echo "demo/run.sh .. ok"
		npass=$((npass + 1))
	else
		tail -40 "$scratch/demo.log"
		echo "demo/run.sh .. FAILED (log: $scratch/demo.log)"
		nfail=$((nfail + 1))
		status=1
	fi
fi

# The fuzzer (sqlsmith against the monitor with enforcement on, bounded in
# time): one test, only for a full run; SKIP_FUZZ=1 leaves it out.
if [ $# -eq 0 ] && [ -z "${SKIP_FUZZ:-}" ]; then
	[ ${#trace[@]} -gt 0 ] && trace[-1]="$scratch/fuzz.trace"
	if "${trace[@]}" bash "$scratch/test/fuzz.sh" >"$scratch/fuzz.log" 2>&1; then
		echo "test/fuzz.sh .. ok"
		npass=$((npass + 1))
	else
		tail -20 "$scratch/fuzz.log"
		echo "test/fuzz.sh .. FAILED (log: $scratch/fuzz.log)"
		nfail=$((nfail + 1))
		status=1
	fi
fi

# In CI: every package the build, the tests and the demo needed is one
# test/install-deps.sh installs (test/check-deps.sh), and that check can
# fail (its self-test).
if [ "${CI:-}" = true ]; then
	for check in "--trace $scratch/execs.trace" --self-test; do
		if [ "$check" != --self-test ]; then
			for t in demo fuzz; do
				[ -f "$scratch/$t.trace" ] && cat "$scratch/$t.trace" >>"$scratch/execs.trace"
			done
		fi
		# shellcheck disable=SC2086
		if bash "$top/test/check-deps.sh" $check; then
			echo "test/check-deps.sh ${check%% *} .. ok"
			npass=$((npass + 1))
		else
			echo "test/check-deps.sh ${check%% *} .. FAILED"
			nfail=$((nfail + 1))
			status=1
		fi
	done
fi

if [ "$status" -ne 0 ]; then
	find "$scratch" -name regression.diffs -exec cat {} + 2>/dev/null | head -300
	[ "$nfail" -eq 0 ] && nfail=1
	echo "test logs kept in $scratch"
else
	rm -rf "$scratch"
fi
echo "tests: $npass passed, $nfail failed"
exit "$status"
