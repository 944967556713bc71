# SIGTERM stops a stream whose apply waits for a lock on the target while
# megabytes of later changes are queued behind the waiting statement.  The
# job keeps up to 8,000 changes in flight per worker; the target's backend,
# waiting for the lock, reads no more of its socket, so a blocking send
# would stop the job inside send() (where neither the signal, nor the
# keepalives, nor the read-ahead of the source are handled) until the lock
# is released.  The target connections do not block: the job exits 9 at
# once, and the next run applies everything exactly once.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time);
use JobClusters;

my ($src, $tgt) = source_and_target();
my @common = one_table_domain($src, $tgt, q{(1, 'a')});
command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');

# a session of the service holds row 1 on the target
my $blocker = IPC::Run::start([ 'psql', '-X', '-d', $tgt->connstr('postgres'), '-c',
	"BEGIN; UPDATE orders.orders_t SET v = 'service' WHERE id = 1; SELECT pg_sleep(300); COMMIT;" ],
	'>', '/dev/null', '2>', '/dev/null');
$tgt->poll_query_until('postgres', "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event = 'PgSleep'")
  or die 'blocker did not start';

# a first insert (the first change of the table in a session is applied
# alone and committed at once), the update of row 1, then 6,000 rows of
# 2 kB, one transaction each (12 MB, far more than the socket buffers hold)
$src->safe_psql('postgres', q{
INSERT INTO orders_t VALUES (2, 'first');
UPDATE orders_t SET v = 'source' WHERE id = 1;
DO $$
BEGIN
	FOR i IN 3 .. 6002 LOOP
		INSERT INTO orders_t VALUES (i, repeat(md5(i::text), 64));
		COMMIT;
	END LOOP;
END $$;
});

my ($out, $err) = ('', '');
my $h = IPC::Run::start([ 'migration-split', 'stream', @common, '--status-interval', '0',
	'--batch-changes', '100000', '--batch-time', '3600000' ],
	'>', \$out, '2>', \$err, IPC::Run::timeout(60));
$tgt->poll_query_until('postgres', "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
  or die 'the stream does not wait for the lock';
# time for the job to queue what follows the waiting UPDATE
sleep(3);

my $t0 = time();
$h->signal('TERM');
# a job stuck in send() does not exit before the timeout: killed then
eval { $h->finish; };
$h->kill_kill if $@;
my $secs = time() - $t0;
is(eval { $h->result(0) } // 'none (killed after 60 s)', 9,
	'SIGTERM with a backlog queued behind a lock wait: exit 9') or diag($err);
ok($secs < 10, "exits at once (${secs}s)");
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM orders.orders_t'), '2',
	'the batch was rolled back (the first insert was committed alone before)');

# the service's session ends; the next run applies everything once
$tgt->safe_psql('postgres', "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep'");
$blocker->finish;
my ($o2, $e2) = ('', '');
IPC::Run::run([ 'migration-split', 'stream', @common, '--until-caught-up' ], '>', \$o2, '2>', \$e2);
is($? >> 8, 0, 'the next run catches up') or diag($e2);
my $fingerprint = "SELECT count(*) || ' ' || md5(string_agg(t::text, ',' ORDER BY id)) FROM %s t";
is($tgt->safe_psql('postgres', sprintf($fingerprint, 'orders.orders_t')),
	$src->safe_psql('postgres', sprintf($fingerprint, 'orders_t')), 'the target equals the source');

$src->stop;
$tgt->stop;
done_testing();
