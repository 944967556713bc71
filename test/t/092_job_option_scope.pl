# An option a subcommand does not take is refused on the command line
# (exit 1) whatever its value, naming the subcommands that take it: before,
# the stream's --batch-changes, --batch-time, --apply-jobs,
# --status-interval and --max-retries were silently ignored by every other
# subcommand, and --jobs, --max-lag, --verify-max-age and --sequence-gap
# were ignored when given their default value.  No server is needed: the
# connection strings point nowhere, and a command that got past the check
# would end with exit 2.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my @conn = ('--source', 'host=/nonexistent dbname=x', '--target', 'host=/nonexistent dbname=y',
	'--domain', 'orders');

for my $case (
	[ 'init', [ '--batch-changes', '10000' ], '--batch-changes', 'stream' ],
	[ 'status', [ '--max-retries', '3' ], '--max-retries', 'stream' ],
	[ 'verify', [ '--apply-jobs', '2' ], '--apply-jobs', 'stream' ],
	[ 'cutover', [ '--status-interval', '10' ], '--status-interval', 'stream' ],
	[ 'rollback', [ '--batch-time', '100' ], '--batch-time', 'stream' ],
	[ 'stream', [ '--jobs', '4' ], '--jobs', 'init and verify' ],
	[ 'stream', [ '--sequence-gap', '1000' ], '--sequence-gap', 'cutover and rollback' ],
	[ 'rollback', [ '--max-lag', '16777216' ], '--max-lag', 'cutover' ],
	[ 'stream', [ '--verify-max-age', '3600' ], '--verify-max-age', 'cutover' ],
	[ 'finalize', [ '--timeout', '5' ], '--timeout', 'verify, cutover and rollback' ],
	[ 'cutover', [ '--drop-archive' ], '--drop-archive', 'finalize' ],
	[ 'init', [ '--json' ], '--json', 'status and verify' ])
{
	my ($cmd, $args, $opt, $valid) = @$case;
	my ($rc, $out, $err) = run_migration_split($cmd, @conn, @$args);
	is($rc, 1, "$cmd @$args: exit 1");
	is($err, "migration-split: error: option $opt is only valid for $valid\n"
		  . "migration-split: hint: Try \"migration-split $cmd --help\" for the options of $cmd.\n",
		"$cmd @$args: message");
}

my ($rc, $out, $err) = run_migration_split('report', '--source', 'host=/nonexistent dbname=x',
	'--target', 'host=/nonexistent dbname=y', '--markdown', '-');
is($rc, 1, 'report --target: exit 1');
like($err, qr/^migration-split: error: option --target is not valid for report\n/, 'report --target: message');

# the job's state schema as --target-schema: refused before any connection,
# by every subcommand (before: by init only, after connecting; exit 2 here)
for my $cmd ('init', 'status')
{
	($rc, $out, $err) = run_migration_split($cmd, @conn, '--target-schema', 'migration_split_job');
	is($rc, 1, "$cmd --target-schema migration_split_job: exit 1");
	like($err, qr/^migration-split: error: invalid target schema name "migration_split_job"\n.*detail: Schema "migration_split_job" holds the state of the jobs feeding the target database\.\n/s,
		"$cmd --target-schema migration_split_job: message");
}

# an option the subcommand takes still passes the check (then: no server)
($rc, $out, $err) = run_migration_split('stream', @conn, '--batch-changes', '5', '--apply-jobs', '2');
is($rc, 2, 'stream --batch-changes --apply-jobs: past the check, exit 2 (no server)');

done_testing();
