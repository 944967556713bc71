# cutover, rollback and finalize of one domain run one at a time: each
# takes the domain's handover lock on the monolith before its preflight.
# A cutover started while a rollback was between its freeze of the service
# and its end found the domain still extracted and unfroze the service
# (both sides took the domain's writes); a second cutover started during
# the first one's freeze waits (and could unfreeze the domain when its own
# catch-up timed out).  Both now stop at once with exit 12.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JobClusters;

my $job = orders_job();
my ($src, $tgt, $S, $T) = @$job{qw(src tgt S T)};
my @common = $job->common;

$job->stream_until_caught_up();
my ($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check');
is($rc, 0, 'cutover') or diag($err);
$tgt->safe_psql('postgres', q{INSERT INTO orders.orders (client, note) VALUES (1, 'svc')});

# a rollback held in its catch-up: the monolith's table is locked, so the
# reverse stream cannot apply the service's row
my $lock = $src->background_psql('postgres');
$lock->query_safe('BEGIN; LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE');
my ($rb_out, $rb_err) = ('', '');
my $rb = IPC::Run::start([ 'migration-split', 'rollback', @common, '--timeout', '120' ],
	'>', \$rb_out, '2>', \$rb_err);
ok($tgt->poll_query_until('postgres',
	q{SELECT state = 'frozen' FROM migration_split.domain_lifecycle WHERE domain = 'orders'}),
	'the rollback froze the service');

($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check');
is($rc, 12, 'cutover during a rollback: exit 12');
like($err, qr/preflight failed: another init, cutover, rollback or finalize of domain "orders" is running/,
	'the message says why');
like($err, qr/detail: Process \d+ .*holds the domain's handover lock in the source database; nothing was changed\./,
	'and names the process');
is($job->lifecycle($tgt), 'frozen', 'the service stays frozen');
($rc, $out, $err) = $job->run_job('rollback');
is($rc, 12, 'a second rollback: exit 12');
($rc, $out, $err) = $job->run_job('finalize');
is($rc, 12, 'finalize during a rollback: exit 12');

$lock->query_safe('COMMIT');
$rb->finish;
is($rb->result(0), 0, 'the rollback completes') or diag($rb_err);
is($job->lifecycle($src), 'streaming', 'the domain is back in the monolith');
is($src->safe_psql('postgres', q{SELECT count(*) FROM orders WHERE note = 'svc'}), '1',
	"the service's write is in the monolith");

# two cutovers: the first waits in its freeze for a writer on the monolith
$job->stream_until_caught_up();
my $writer = $src->background_psql('postgres');
$writer->query_safe(q{BEGIN; INSERT INTO orders (client, note) VALUES (2, 'writer')});
my ($c_out, $c_err) = ('', '');
my $c1 = IPC::Run::start([ 'migration-split', 'cutover', @common, '--skip-verify-check', '--timeout', '120' ],
	'>', \$c_out, '2>', \$c_err);
ok($src->poll_query_until('postgres',
	q{SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE '%freeze_domain%' AND wait_event_type = 'Lock'}),
	'the first cutover waits for the writer');
($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check', '--timeout', '1');
is($rc, 12, 'a second cutover at once: exit 12');
like($err, qr/another init, cutover, rollback or finalize of domain "orders" is running/, 'the second one says why');
$writer->query_safe('COMMIT');
$c1->finish;
is($c1->result(0), 0, 'the first cutover completes') or diag($c_err);
is($job->lifecycle($src), 'extracted', 'the domain is extracted');
is($job->lifecycle($tgt), 'streaming', 'the service takes the writes again');
is($tgt->safe_psql('postgres', q{SELECT count(*) FROM orders.orders WHERE note = 'writer'}), '1',
	"the writer's row reached the service");
$job->both_equal('both sides hold the same rows');

# an init while another command holds the lock of domain customers (here
# a session standing in for it): exit 12, nothing created
$lock->query_safe(q{SELECT pg_advisory_lock(hashtext('migration_split handover'), hashtext('customers'))});
my @cc = ('--source', $S, '--target', $T, '--domain', 'customers', '--no-progress');
IPC::Run::run([ 'migration-split', 'init', @cc ], '>', \$out, '2>', \$err);
is($? >> 8, 12, 'init of a domain whose lock is held: exit 12');
like($err, qr/another init, cutover, rollback or finalize of domain "customers" is running/, 'init says why');
is($src->safe_psql('postgres', q{SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'migration_split_customers'}),
	'0', 'no slot created');
$lock->query_safe(q{SELECT pg_advisory_unlock(hashtext('migration_split handover'), hashtext('customers'))});
IPC::Run::run([ 'migration-split', 'init', @cc ], '>', \$out, '2>', \$err);
is($? >> 8, 0, 'the same init once the lock is free') or diag($err);
$lock->quit;
$writer->quit;

$src->stop;
$tgt->stop;
done_testing();
