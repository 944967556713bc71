# README: "The target must take writes: init, stream, verify, cutover and
# rollback refuse a hot standby and a database where
# default_transaction_read_only is on ... before they change anything,
# exit 4".  090 proves it for init, stream and verify; this proves it for
# cutover and rollback with a read-only service database: exit 4, the
# message, and nothing changed (the lifecycle on both sides, the slots).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my $job = orders_job();
my ($src, $tgt) = @$job{qw(src tgt)};
my ($rc, $out, $err);

sub tgt_write
{
	my ($sql) = @_;
	local $ENV{PGOPTIONS} = '-c default_transaction_read_only=off';
	$tgt->safe_psql('postgres', $sql);
}

sub snapshot
{
	return join(' | ',
		$job->lifecycle($src),
		$tgt->safe_psql('postgres', q{SELECT count(*) FROM pg_extension WHERE extname = 'migration_split'}),
		$tgt->safe_psql('postgres', q{SELECT coalesce(string_agg(nspname, ',' ORDER BY nspname), '') FROM pg_namespace WHERE nspname LIKE 'migration_split%'}),
		$src->safe_psql('postgres', q{SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots}),
		$tgt->safe_psql('postgres', q{SELECT count(*) FROM pg_replication_slots}));
}

# --- cutover -----------------------------------------------------------------
tgt_write('ALTER DATABASE postgres SET default_transaction_read_only = on');
my $before = snapshot();
($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check');
is($rc, 4, 'cutover, read-only target database: exit 4');
like($err, qr/^migration-split: error: the target database \(.* dbname=postgres\) is read-only\n.*detail: default_transaction_read_only is on for the database \(ALTER DATABASE\); cutover [^\n]* in the target database\.\n.*hint: Run ALTER DATABASE postgres RESET default_transaction_read_only in the target database, or give --target a database that takes writes\.\n\z/s,
	'cutover, read-only target database: message');
is(snapshot(), $before, 'cutover changed nothing');
is($job->lifecycle($src), 'monolith', 'the domain is still the monolith\'s');

# --- rollback ----------------------------------------------------------------
tgt_write('ALTER DATABASE postgres RESET default_transaction_read_only');
($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check');
is($rc, 0, 'cutover once the target takes writes') or diag($err);
tgt_write('ALTER DATABASE postgres SET default_transaction_read_only = on');
$before = snapshot();
($rc, $out, $err) = $job->run_job('rollback');
is($rc, 4, 'rollback, read-only target database: exit 4');
like($err, qr/^migration-split: error: the target database \(.* dbname=postgres\) is read-only\n.*detail: default_transaction_read_only is on for the database \(ALTER DATABASE\); rollback [^\n]* in the target database\.\n.*hint: Run ALTER DATABASE postgres RESET default_transaction_read_only in the target database, or give --target a database that takes writes\.\n\z/s,
	'rollback, read-only target database: message');
is(snapshot(), $before, 'rollback changed nothing');
is($job->lifecycle($src), 'extracted', 'the domain is still extracted');

tgt_write('ALTER DATABASE postgres RESET default_transaction_read_only');
($rc, $out, $err) = $job->run_job('rollback');
is($rc, 0, 'rollback once the target takes writes') or diag($err);

done_testing();
