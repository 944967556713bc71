# Ctrl-C while cutover (or rollback) waits for the writers in flight to
# freeze the domain: the wait is cancelled at once, the program exits 9
# (interrupted) and the domain is not frozen.  Before, the signal was only
# noticed after the freeze's lock wait ended: after --timeout, with exit 13,
# while every writer of the domain queued behind the freeze.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time);
use JobClusters;

my $job = orders_job();
my ($src, $tgt) = @$job{qw(src tgt)};
my @common = $job->common;

my ($fwd) = start_stream($src, @common);
$src->poll_query_until('postgres',
	"SELECT active FROM pg_replication_slots WHERE slot_name = 'migration_split_orders'")
  or die 'stream did not start';

# A transaction writing to the domain on node, open for 300 s: returns its
# handle once the row is written (end_writer ends it).
sub writer
{
	my ($node, $table) = @_;
	my $h = IPC::Run::start([ 'psql', '-X', '-d', $node->connstr('postgres'), '-c',
		"BEGIN; INSERT INTO $table (client, note) VALUES (1, 'in flight'); SELECT pg_sleep(300); COMMIT;" ],
		'>', '/dev/null', '2>', '/dev/null');
	$node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE 'BEGIN; INSERT INTO $table%' AND wait_event = 'PgSleep'")
	  or die 'writer did not start';
	return $h;
}

# roll the writer's transaction back (its backend would sleep on)
sub end_writer
{
	my ($node, $h) = @_;
	$node->safe_psql('postgres',
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE 'BEGIN; INSERT INTO %'");
	$h->finish;
}

# Run migration-split cmd with --timeout 120, interrupted (SIGINT) once its
# freeze waits for a lock on node: returns exit code, stderr and seconds
# from the interrupt to the exit.
sub interrupted_freeze
{
	my ($node, $cmd, @args) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start([ 'migration-split', $cmd, @common, '--timeout', '120', @args ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(180));
	$node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE '%freeze_domain%' AND wait_event_type = 'Lock'")
	  or die "$cmd does not wait for the freeze";
	my $t0 = time();
	$h->signal('INT');
	eval { $h->finish; };
	my $secs = time() - $t0;
	return ($h->result(0), $err, $secs);
}

# 1. cutover: the monolith's freeze waits for a writer
my $w = writer($src, 'orders');
my ($rc, $err, $secs) = interrupted_freeze($src, 'cutover', '--skip-verify-check');
is($rc, 9, 'cutover interrupted during the freeze: exit 9') or diag($err);
like($err, qr/error: interrupted while freezing domain "orders"\n.*detail: The freeze was rolled back; nothing was changed\./s,
	'cutover: the message says nothing was changed');
ok($secs < 10, "cutover: exits at once, not after --timeout (${secs}s)");
isnt($job->lifecycle($src), 'frozen', 'cutover: the domain is not frozen');
is($src->safe_psql('postgres', "SELECT count(*) FROM pg_trigger WHERE tgname = 'migration_split_freeze'"),
	'0', 'cutover: no freeze trigger');
end_writer($src, $w);

# the cutover goes through once the writer is gone
my ($out);
($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check', '--timeout', '60');
is($rc, 0, 'cutover after the interrupted one') or diag($err);
is($job->lifecycle($src), 'extracted', 'the domain is extracted');
$fwd->signal('TERM');
$fwd->finish;

# 2. rollback: the service's freeze waits for a writer in the service
$w = writer($tgt, 'orders.orders');
($rc, $err, $secs) = interrupted_freeze($tgt, 'rollback');
is($rc, 9, 'rollback interrupted during the freeze: exit 9') or diag($err);
like($err, qr/error: interrupted while freezing domain "orders" in the service\n.*detail: The freeze was rolled back; nothing was changed\./s,
	'rollback: the message says nothing was changed');
ok($secs < 10, "rollback: exits at once, not after --timeout (${secs}s)");
is($tgt->safe_psql('postgres', "SELECT count(*) FROM pg_trigger WHERE tgname = 'migration_split_freeze'"),
	'0', 'rollback: no freeze trigger in the service');
end_writer($tgt, $w);

# the service still takes writes
$tgt->safe_psql('postgres', "INSERT INTO orders.orders (client, note) VALUES (2, 'after')");
is($tgt->safe_psql('postgres', "SELECT count(*) FROM orders.orders WHERE note = 'after'"), '1',
	'the service takes writes after the interrupted rollback');

$src->stop;
$tgt->stop;
done_testing();
