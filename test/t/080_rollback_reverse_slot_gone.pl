# migration-split rollback when the reverse stream's slot on the service is
# gone (dropped by hand, or the service restored from a backup): the
# preflight refuses (exit 12) and says what the DBA can do; status shows
# the reverse stream's slot as missing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my $job = orders_job();
my ($src, $tgt) = @$job{qw(src tgt)};
$job->stream_until_caught_up;

my ($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check');
is($rc, 0, 'cutover') or diag("$out\n$err");
$tgt->safe_psql('postgres', "INSERT INTO orders.orders (client, customer_id, note) VALUES (7, 1, 'service')");
$tgt->safe_psql('postgres', "SELECT pg_drop_replication_slot('migration_split_reverse_orders')");

($rc, $out, $err) = $job->run_job('rollback');
is($rc, 12, 'rollback without the reverse slot: exit 12');
like($err, qr/preflight failed: replication slot "migration_split_reverse_orders" of the reverse stream does not exist on the service/,
	'the message names the slot');
like($err, qr/hint: .*copied back by hand/, 'the hint says what to do');
is($job->lifecycle($src), 'extracted', 'nothing was changed');

($rc, $out, $err) = $job->run_job('status');
is($rc, 0, 'status') or diag($err);
like($out, qr/^  slot:\s+migration_split_reverse_orders MISSING on the service$/m,
	'status shows the reverse stream\'s slot as missing');

done_testing();
