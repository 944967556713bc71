# A forward stream left running through the cutover, as the end-to-end run
# on a real Django schema did, must not come back after a reconnect: the
# check that refuses to start a forward stream of an extracted domain with a
# reverse stream ran only at start.  After a restart of the monolith the
# stream resumed from its slot, and with "stream --reverse" started while
# it waited to reconnect, it would send the reverse stream's writes back to
# the service.  Now it stops at the reconnect, exit 3, with the same words.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use JobClusters;

my $job = orders_job();
my ($src, $tgt) = @$job{qw(src tgt)};
my @common = $job->common;

my ($out, $err) = ('', '');
my $h = IPC::Run::start([ 'migration-split', 'stream', @common, '--status-interval', '0' ],
	'>', \$out, '2>', \$err);
$src->poll_query_until('postgres', "SELECT active FROM pg_replication_slots WHERE slot_name = 'migration_split_orders'")
  or die 'the forward stream does not start';
my ($rc, $cout, $cerr) = $job->run_job('cutover', '--skip-verify-check');
is($rc, 0, 'cutover while the forward stream runs') or diag($cerr);
is($job->lifecycle($src), 'extracted', 'the domain is extracted');
ok($h->pumpable, 'the forward stream still runs (it has nothing to apply)');

# the monolith restarts: the stream loses its connections and reconnects
$src->restart;
my $ended = 0;
for (my $i = 0; $i < 300; $i++)
{
	$h->pump_nb;
	if (!$h->pumpable)
	{
		$ended = 1;
		last;
	}
	usleep(100_000);
}
ok($ended, 'the forward stream stops at its reconnect');
if (!$ended)
{
	$h->signal('KILL');
}
$h->finish;
is($? >> 8, 3, 'with exit 3') if $ended;
like($err, qr/error: domain "orders" is extracted and has a reverse stream: the forward stream must not run/,
	'and says why');
like($err, qr/hint: Run "migration-split rollback" first to give the domain back to the monolith\./, 'and what to do');
is($src->safe_psql('postgres', q{SELECT active FROM pg_replication_slots WHERE slot_name = 'migration_split_orders'}),
	'f', 'the forward slot is not in use');

# a reverse stream may run now
($rc, $cout, $cerr) = $job->run_job('stream', '--reverse', '--until-caught-up', '--status-interval', '0');
is($rc, 0, 'stream --reverse runs') or diag($cerr);

done_testing();
