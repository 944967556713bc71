#!/bin/bash
# Install what building and testing migration_split needs on Debian 12:
# PostgreSQL 15 server and PGXS, libpq, the TAP test modules, the wal2json
# peer used by the benchmarks, and Graphviz for the demo's SVG.
set -euo pipefail

packages=(build-essential postgresql-15 postgresql-server-dev-15 libpq-dev
	postgresql-client-15 libipc-run-perl postgresql-15-wal2json graphviz
	python3 chromium)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
