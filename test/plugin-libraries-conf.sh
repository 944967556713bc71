#!/bin/bash
# Print the postgresql.conf line that allows the given logical decoding
# output plugins, for the PostgreSQL server in BINDIR:
#
#   bash test/plugin-libraries-conf.sh BINDIR pgoutput test_decoding migration_split
#
# The setting output_plugin_libraries exists only in recent PostgreSQL 15
# minor releases (15.20 has it, 15.18 does not), and a server whose
# configuration sets a setting it does not know refuses to start.  So the
# line is printed only when the server lists the setting in
# "postgres --describe-config" (which, unlike starting a server, works as
# root and without a data directory); otherwise a comment is printed: such a
# server lets every role with REPLICATION use every plugin.
# Used by the Makefile (pg_regress and isolation configurations), demo/run.sh
# and the benchmarks; test/perl/JobClusters.pm does the same in Perl.
set -euo pipefail

bindir=$1
shift
# Read the whole list first: "postgres ... | grep -q" under pipefail fails
# whenever grep exits before postgres has written everything (SIGPIPE).
settings=$("$bindir/postgres" --describe-config 2>/dev/null || true)
if grep -q '^output_plugin_libraries[[:space:]]' <<<"$settings"; then
	list=$(printf '%s, ' "$@")
	echo "output_plugin_libraries = '${list%, }'"
else
	echo "# output_plugin_libraries: not a setting of $("$bindir/postgres" --version); every output plugin may be used"
fi
