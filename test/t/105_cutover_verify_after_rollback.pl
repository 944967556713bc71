# cutover after a rollback needs a verification made after the rollback:
# the one recorded before the first cutover says nothing about the tables
# the reverse stream rewrote in the monolith (found by the end-to-end run
# on a real Django schema: the second cutover went ahead on the first one's
# verification).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my $job = orders_job();
my ($src, $tgt) = @$job{qw(src tgt)};
my @common = $job->common;

# verified equal while the stream runs, then cut over on that verification
my ($stream, $log) = start_stream($src, @common);
my ($rc, $out, $err) = run_verify(\@common);
is($rc, 0, 'verify exits 0') or diag($err);
$stream->signal('TERM');
$stream->finish;
my $verified_lsn = $tgt->safe_psql('postgres', q{SELECT last_verify_lsn FROM migration_split_job.jobs WHERE domain = 'orders'});
($rc, $out, $err) = $job->run_job('cutover');
is($rc, 0, 'cutover on a recent equal verification') or diag($err);
like($out, qr/^preflight: verified equal at .* \(source position \Q$verified_lsn\E\)$/m, 'the preflight names it');

# the service writes, the rollback brings it back, the monolith writes again
$tgt->safe_psql('postgres', q{UPDATE orders.orders SET note = 'service' WHERE id <= 10});
($rc, $out, $err) = $job->run_job('rollback');
is($rc, 0, 'rollback') or diag($err);
$src->safe_psql('postgres', q{INSERT INTO orders (client, note) VALUES (1, 'monolith again')});
$job->stream_until_caught_up();

# the verification made before the first cutover no longer counts
my $freeze = $src->safe_psql('postgres', q{SELECT max(source_lsn) FROM migration_split.domain_transitions WHERE domain = 'orders' AND to_state = 'extracted'});
($rc, $out, $err) = $job->run_job('cutover');
is($rc, 12, 'cutover on the verification made before the rollback: exit 12');
like($err, qr/preflight failed: the last verification of domain "orders" \(at .*, source position \Q$verified_lsn\E\) was made before its last cutover \(frozen at \Q$freeze\E\) and rollback/,
	'the message says the verification predates the rollback');
like($err, qr/hint: Run "migration-split verify" again while the stream runs\./, 'the hint says what to do');
like($err, qr/Nothing was changed\./, 'and that nothing changed');
is($job->lifecycle($src), 'streaming', 'the domain is still streaming in the monolith');

# --skip-verify-check still cuts over without one
($rc, $out, $err) = $job->run_job('cutover', '--dry-run', '--skip-verify-check');
is($rc, 0, 'cutover --dry-run --skip-verify-check exits 0') or diag($err);

# a verification after the rollback lets it go on
($stream, $log) = start_stream($src, @common);
($rc, $out, $err) = run_verify(\@common);
is($rc, 0, 'verify after the rollback exits 0') or diag($err);
$stream->signal('TERM');
$stream->finish;
($rc, $out, $err) = $job->run_job('cutover');
is($rc, 0, 'cutover again on the new verification') or diag($err);
is($job->lifecycle($src), 'extracted', 'the domain is extracted again');
$job->both_equal('the monolith and the service hold the same rows');

done_testing();
