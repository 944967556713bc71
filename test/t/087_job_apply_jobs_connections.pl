# stream --apply-jobs N on a target that refuses some of the N apply
# connections (max_connections): the session ends and is retried like any
# lost connection (with --max-retries, exit 2).  Before, the coordinator
# reported success with only some workers connected, and the first commit
# crashed the job (segmentation fault) on a worker without a connection.
# verify --jobs N whose workers the target refuses: exit 2, not 8.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JobClusters;

my ($src, $tgt) = source_and_target();
my @common = one_table_domain($src, $tgt, q{(1, 'a')});
command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');

# 10 connections in all (3 of them reserved for superusers, which the
# test's role is): the job's two and 8 of 16 apply workers
$tgt->append_conf('postgresql.conf', "max_connections = 10\n");
$tgt->restart;
$src->safe_psql('postgres', "INSERT INTO orders_t VALUES (2, 'b')");

my ($out, $err) = ('', '');
IPC::Run::run([ 'migration-split', 'stream', @common, '--until-caught-up', '--apply-jobs', '16',
	'--max-retries', '1' ], '>', \$out, '2>', \$err, IPC::Run::timeout(120));
my $status = $?;
is($status & 127, 0, 'no crash') or diag($err);
is($status >> 8, 2, 'exit 2 once the retries are used up') or diag($err);
like($err, qr/warning: could not connect to the target database .*too many clients/,
	'the refused connection is named');
like($err, qr/error: giving up after 1 failed reconnection in a row \(--max-retries\)/, 'gives up after --max-retries');
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM orders.orders_t'), '1', 'nothing applied');

# with as many workers as the target allows, the same change is applied
($out, $err) = ('', '');
IPC::Run::run([ 'migration-split', 'stream', @common, '--until-caught-up', '--apply-jobs', '2' ],
	'>', \$out, '2>', \$err, IPC::Run::timeout(120));
is($? >> 8, 0, 'stream with 2 apply workers') or diag($err);
is($tgt->safe_psql('postgres', 'SELECT string_agg(id || v, \',\' ORDER BY id) FROM orders.orders_t'),
	'1a,2b', 'the change is applied');

# verify --jobs 16 on the same target: a worker that cannot connect is a
# connection failure (exit 2), not a server error (exit 8)
# (rows enough that the workers' scans overlap)
$src->safe_psql('postgres', "INSERT INTO orders_t SELECT i, 'v' FROM generate_series(3, 200000) i");
my ($stream) = start_stream($src, @common);
$tgt->poll_query_until('postgres', 'SELECT count(*) = 200000 FROM orders.orders_t')
  or die 'stream did not catch up';
my ($rc, $vout, $verr) = run_verify(\@common, '--jobs', '16');
is($rc, 2, 'verify with more workers than the target allows: exit 2') or diag($verr);
like($verr, qr/error: verification failed: a worker could not connect\n.*hint: Each of the --jobs workers opens a connection to the source and one to the target/s,
	'verify: the message and the hint');
($rc, $vout, $verr) = run_verify(\@common, '--jobs', '1');
is($rc, 0, 'verify with one worker') or diag($verr);
$stream->signal('TERM');
$stream->finish;

$src->stop;
$tgt->stop;
done_testing();
