# Ctrl-C (SIGINT) and SIGTERM stop a stream whose apply waits for a lock
# that a session of the service holds on the target: the statement is
# cancelled, the batch rolled back, the program exits 9 without recording
# an error, and the next run applies the same changes exactly once.
# Before, the signal was only noticed once the lock was released: a
# session idle in transaction on the target kept the stream from ever
# stopping.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time);
use JobClusters;

my ($src, $tgt) = source_and_target();
my @common = one_table_domain($src, $tgt, q{(1, 'a'), (2, 'b')});
command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');

my $n = 0;
for my $signal ('INT', 'TERM')
{
	$n++;
	# a session of the service holds row 1 on the target
	my $blocker = IPC::Run::start([ 'psql', '-X', '-d', $tgt->connstr('postgres'), '-c',
		"BEGIN; UPDATE orders.orders_t SET v = 'service' WHERE id = 1; SELECT pg_sleep(300); COMMIT;" ],
		'>', '/dev/null', '2>', '/dev/null');
	$tgt->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event = 'PgSleep'")
	  or die 'blocker did not start';

	my ($out, $err) = ('', '');
	my $h = IPC::Run::start([ 'migration-split', 'stream', @common, '--status-interval', '0' ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(180));
	$src->safe_psql('postgres', "BEGIN; INSERT INTO orders_t VALUES (10 + $n, 'new'); UPDATE orders_t SET v = 'source $n' WHERE id = 1; COMMIT;");
	$tgt->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
	  or die 'the stream does not wait for the lock';

	my $t0 = time();
	$h->signal($signal);
	eval { $h->finish; };
	my $secs = time() - $t0;
	is($h->result(0), 9, "SIG$signal while the apply waits for a lock: exit 9") or diag($err);
	ok($secs < 10, "SIG$signal: exits at once (${secs}s)");
	like($err, qr/interrupted; the changes not yet committed on the target were rolled back, the next run applies them/,
		"SIG$signal: says what happened to the batch");
	unlike($err, qr/error:|warning:/, "SIG$signal: no error or warning");
	is($tgt->safe_psql('postgres', "SELECT last_error IS NULL FROM migration_split_job.jobs"), 't',
		"SIG$signal: no error recorded in the job row");
	is($tgt->safe_psql('postgres', "SELECT count(*) FROM orders.orders_t WHERE id = 10 + $n"), '0',
		"SIG$signal: the batch was rolled back");

	# the service's session ends; the next run applies the changes once
	$tgt->safe_psql('postgres',
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep'");
	$blocker->finish;
	my ($rc, $o2, $e2) = ('', '', '');
	IPC::Run::run([ 'migration-split', 'stream', @common, '--until-caught-up' ], '>', \$o2, '2>', \$e2);
	is($? >> 8, 0, "SIG$signal: the next run catches up") or diag($e2);
	is($tgt->safe_psql('postgres', "SELECT string_agg(id || '=' || v, ',' ORDER BY id) FROM orders.orders_t"),
		$src->safe_psql('postgres', "SELECT string_agg(id || '=' || v, ',' ORDER BY id) FROM orders_t"),
		"SIG$signal: the target equals the source");
}

$src->stop;
$tgt->stop;
done_testing();
