# The source lost while the stream waits for the target to finish a batch
# (a lock held on the service): the read-ahead of the source's socket saw
# the loss, libpq closed the socket, and the wait went on select()ing the
# closed descriptor: EBADF at once, for ever, at 100 % CPU, deaf to SIGTERM,
# and it never applied the batch even once the lock was gone (found after
# the end-to-end run on a real Django schema: a stream left behind when its
# monolith was stopped spun like this).  Where the wait did end, the stream
# blamed the target ("after a failure on the target: target: ", no reason)
# for the source's loss.  Now the wait stops reading ahead, finishes the
# batch, and the stream reconnects because the source was lost.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use JobClusters;

my ($src, $tgt) = source_and_target();
my @common = one_table_domain($src, $tgt, "(1, 'a')");
my ($rc, $out, $err) = run_migration_split('init', @common, '--no-progress');
is($rc, 0, 'init') or diag($err);
my ($stream, $log) = start_stream($src, @common);
$src->poll_query_until('postgres', "SELECT active FROM pg_replication_slots WHERE slot_name = 'migration_split_orders'")
  or die 'the stream does not start';

# the target's table locked: the next change waits there
my $locker = lock_table_for($tgt, 'orders.orders_t', 8);
$src->safe_psql('postgres', "INSERT INTO orders_t VALUES (2, 'b')");
$tgt->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_locks WHERE NOT granted AND relation = 'orders.orders_t'::regclass")
  or die 'the apply does not wait for the lock';
# the source goes away meanwhile, and comes back
$src->stop('immediate');
usleep(500_000);
$src->start;
$locker->finish;

# the row is applied once the lock is gone, and the stream goes on
ok($tgt->poll_query_until('postgres', "SELECT count(*) = 2 FROM orders.orders_t", 't'),
	'the waiting change is applied after the lock');
$src->safe_psql('postgres', "INSERT INTO orders_t VALUES (3, 'c')");
ok($tgt->poll_query_until('postgres', "SELECT count(*) = 3 FROM orders.orders_t", 't'),
	'and the stream applies the next one after reconnecting');

# and it stops on SIGTERM
$stream->signal('TERM');
my $ended = 0;
for (my $i = 0; $i < 100; $i++)
{
	eval { $stream->pump_nb };
	if ($@ || !$stream->pumpable)
	{
		$ended = 1;
		last;
	}
	usleep(100_000);
}
ok($ended, 'the stream ends on SIGTERM');
$stream->signal('KILL') unless $ended;
$stream->finish;
my $text = slurp_file($log);
unlike($text, qr/select\(\) failed/, 'no failing select() reported');
unlike($text, qr/after a failure on the target/, 'nor a failure of the target, which did not fail');
like($text, qr/lost the connection to the source/, 'the loss of the source is what is reported');

done_testing();
