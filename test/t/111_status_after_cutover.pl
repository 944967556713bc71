# After a cutover with a reverse stream, status showed the forward job as
# "phase: streaming" with a lag that grew with every write of the monolith,
# as though the forward stream were behind: it must not run once the domain
# is extracted with a reverse stream.  Status now says that the domain is
# cut over and whether the forward stream still runs; the forward lag is not
# shown (null in --json); the reverse stream is shown as before.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JobClusters;

my $job = orders_job();
my ($src, $tgt) = @$job{qw(src tgt)};

my ($rc, $out, $err) = $job->run_job('status');
is($rc, 0, 'status before the cutover') or diag($err);
like($out, qr/^phase:\s+streaming$/m, 'before the cutover: phase streaming');
like($out, qr/^lag:\s+\d+ bytes, /m, 'and the forward lag');

# the forward stream left running through the cutover
my ($fout, $ferr) = ('', '');
my $h = IPC::Run::start([ 'migration-split', 'stream', $job->common, '--status-interval', '0' ],
	'>', \$fout, '2>', \$ferr);
$src->poll_query_until('postgres', "SELECT active FROM pg_replication_slots WHERE slot_name = 'migration_split_orders'")
  or die 'the forward stream does not start';
($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check');
is($rc, 0, 'cutover') or diag($err);
($rc, $out, $err) = $job->run_job('status');
is($rc, 0, 'status with the forward stream still running') or diag($err);
like($out, qr/^phase:\s+cut over \(domain "orders" is extracted; the forward stream still runs and must be stopped\)$/m,
	'says that the forward stream must be stopped');
$h->signal('TERM');
$h->finish;
$src->poll_query_until('postgres', "SELECT NOT active FROM pg_replication_slots WHERE slot_name = 'migration_split_orders'")
  or die 'the forward stream does not stop';

# the monolith takes writes in other domains: the forward slot falls behind
$src->safe_psql('postgres', q{UPDATE customer SET name = name || '+'; SELECT pg_switch_wal()});

($rc, $out, $err) = $job->run_job('status');
is($rc, 0, 'status after the cutover') or diag($err);
like($out, qr/^phase:\s+cut over \(domain "orders" is extracted; the forward stream is stopped, the reverse stream brings the service's writes to the monolith\)$/m,
	'the phase is the cutover, not streaming');
like($out, qr/^lag:\s+- \(the forward stream ends at the cutover\)$/m, 'no forward lag');
like($out, qr/^reverse stream \(service to monolith, state in the monolith\):$/m, 'the reverse stream is shown');
like($out, qr/^  lag:\s+\d+ bytes, - s$/m, 'with its lag');

($rc, $out, $err) = $job->run_job('status', '--json');
is($rc, 0, 'status --json after the cutover') or diag($err);
like($out, qr/^\{"domain": "orders", "phase": "cut over", /, 'json: phase "cut over"');
like($out, qr/"lag_bytes": null, "lag_seconds": null, .*"reverse": \{.*"lag_bytes": \d+,/, 'json: no forward lag, the reverse lag');
like($out, qr/"forward_stream_running": false/, 'json: the forward stream is not running');

# without --source: the target's view, which cannot know
($rc, $out, $err) = run_status_target_only($job);
like($out, qr/^phase:\s+streaming$/m, 'without --source: the job row\'s phase');

# after a rollback: streaming again
($rc, $out, $err) = $job->run_job('rollback');
is($rc, 0, 'rollback') or diag($err);
($rc, $out, $err) = $job->run_job('status');
like($out, qr/^phase:\s+streaming$/m, 'after the rollback: phase streaming');
like($out, qr/^lag:\s+\d+ bytes, /m, 'and the forward lag');

# a cutover without a reverse stream, then finalize
($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check', '--no-reverse');
is($rc, 0, 'cutover --no-reverse') or diag($err);
$src->safe_psql('postgres', q{UPDATE customer SET name = name || '+'});
($rc, $out, $err) = $job->run_job('status');
is($rc, 0, 'status after cutover --no-reverse') or diag($err);
like($out, qr/^phase:\s+cut over \(domain "orders" is extracted without a reverse stream; the forward stream has nothing more to apply\)$/m,
	'cut over without a reverse stream');
like($out, qr/^lag:\s+- \(the forward stream ends at the cutover\)$/m, 'no forward lag');
like($out, qr/^reverse stream:\s+none$/m, 'no reverse stream');
($rc, $out, $err) = $job->run_job('status', '--json');
like($out, qr/^\{"domain": "orders", "phase": "cut over", .*"lag_bytes": null, "lag_seconds": null, .*"forward_stream_running": false, "reverse": null\}$/m,
	'json: cut over, no lag, no reverse stream');
($rc, $out, $err) = $job->run_job('finalize');
is($rc, 0, 'finalize') or diag($err);
($rc, $out, $err) = $job->run_job('status');
is($rc, 0, 'status after finalize') or diag($err);
like($out, qr/^phase:\s+final \(domain "orders" was cut over and finalized; the forward stream has ended\)$/m,
	'final');
like($out, qr/^slot:\s+migration_split_orders, dropped by finalize$/m, 'the forward slot: dropped by finalize, not missing');
like($out, qr/^lag:\s+- \(the forward stream ends at the cutover\)$/m, 'no forward lag');
($rc, $out, $err) = $job->run_job('status', '--json');
like($out, qr/^\{"domain": "orders", "phase": "final", .*"lag_bytes": null, /m, 'json: final');

sub run_status_target_only
{
	my ($j) = @_;
	my ($o, $e) = ('', '');
	IPC::Run::run([ 'migration-split', 'status', '--target', $j->{T}, '--domain', 'orders' ], '>', \$o, '2>', \$e);
	return ($? >> 8, $o, $e);
}

done_testing();
