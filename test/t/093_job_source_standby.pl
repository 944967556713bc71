# A hot standby of the monolith given as --source.  PostgreSQL 15 decodes
# only on a primary: init, stream and verify refuse it up front (exit 3,
# like a source without wal_level logical) with a message saying so; init
# used to fail at the slot's creation (exit 8) and stream retried for ever
# ("recovery is in progress").  cutover and finalize, which write in the
# monolith, fail their preflight (exit 12).  Nothing is created or changed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();
my @common = one_table_domain($src, $tgt, q{(1, 'a')});
my ($rc, $out, $err) = run_migration_split('init', @common, '--no-progress');
is($rc, 0, 'init on the primary') or diag($err);
$src->safe_psql('postgres', q{
SELECT migration_split.create_domain('other');
CREATE TABLE other_t (id int PRIMARY KEY);
SELECT migration_split.assign_table('other_t', 'other');
});

$src->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('source_standby');
$standby->init_from_backup($src, 'b', has_streaming => 1);
$standby->start;
$src->wait_for_catchup($standby);
my $SB = $standby->connstr('postgres');
my $T = $tgt->connstr('postgres');

for my $case (
	[ 'init', 'other', "init creates the domain's replication slot on the source", '--no-progress' ],
	[ 'stream', 'orders', "stream reads the domain's changes from its replication slot on the source",
	  '--until-caught-up', '--max-retries', '1' ],
	[ 'verify', 'orders', 'verify creates a temporary replication slot on the source', '--timeout', '5', '--no-progress' ])
{
	my ($cmd, $domain, $why, @args) = @$case;
	($rc, $out, $err) = run_migration_split($cmd, '--source', $SB, '--target', $T, '--domain', $domain, @args);
	is($rc, 3, "$cmd, standby as source: exit 3");
	like($err, qr/^migration-split: error: the source database \(host=\S+ port=\d+ dbname=postgres\) is a hot standby\nmigration-split: detail: PostgreSQL 15 decodes changes only on a primary server; \Q$why\E\.\nmigration-split: hint: Give --source the primary server of the monolith database\.\n\z/,
		"$cmd, standby as source: message");
}
is($tgt->safe_psql('postgres', "SELECT count(*) FROM pg_namespace WHERE nspname = 'other'"), '0',
	'init on the standby created nothing on the target');
is($src->safe_psql('postgres', 'SELECT count(*) FROM pg_replication_slots'), '1',
	'and no slot on the primary beyond the first init\'s');

# cutover and finalize write in the monolith: their preflight fails
for my $cmd ([ 'cutover', '--skip-verify-check' ], [ 'finalize' ])
{
	my ($name, @args) = @$cmd;
	($rc, $out, $err) = run_migration_split($name, '--source', $SB, '--target', $T, '--domain', 'orders', @args);
	is($rc, 12, "$name, standby as source: exit 12");
	like($err, qr/^migration-split: error: preflight failed: the source database \(.*\) is a hot standby\n.*detail: $name [^\n]* in the source database[^\n]*; a standby server takes no writes\. Nothing was changed\.\n.*hint: Give --source the primary server of the monolith database\.\n\z/s,
		"$name, standby as source: message");
}

# the primary still serves the job
$src->safe_psql('postgres', "INSERT INTO orders_t VALUES (2, 'b')");
($rc, $out, $err) = run_migration_split('stream', @common, '--until-caught-up');
is($rc, 0, 'stream from the primary') or diag($err);
is(table_rows($tgt, 'orders.orders_t'), '(1,a);(2,b)', 'its change applied');

$standby->stop;
$src->stop;
$tgt->stop;
done_testing();
