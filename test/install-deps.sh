#!/bin/bash
# Install what building and testing migration_split needs on Debian 12
# (minbase is enough): the compiler, PostgreSQL 15 server and PGXS, libpq,
# the libraries the job links with (-lssl -lcrypto -lz besides libpq), the
# TAP test modules, strace (test/run.sh traces the programs a CI run starts,
# for test/check-deps.sh), the peers the benchmarks measure against
# (wal2json; pglogical and pgcopydb, which uses wal2json), and
# Graphviz for the demo's SVG, sqlsmith for test/fuzz.sh, and Chromium for
# the browser test of the HTML report.
#
#   bash test/install-deps.sh          # install what is missing
#   bash test/install-deps.sh --list   # print the packages, one a line
#
# test/check-deps.sh proves the list complete: CI fails when a build or test
# step needs a package that is not here (nor pulled in by one that is).
set -euo pipefail

packages=(build-essential postgresql-15 postgresql-server-dev-15 libpq-dev
	postgresql-client-15 libssl-dev zlib1g-dev libipc-run-perl
	postgresql-15-wal2json postgresql-15-pglogical pgcopydb graphviz python3
	strace sqlsmith chromium)

if [ "${1:-}" = "--list" ]; then
	printf '%s\n' "${packages[@]}"
	exit 0
fi

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
