# While migration-split stream waits for the target's results, it goes on
# reading the replication stream (src/job/receive.c, "Reading ahead"), so
# that the walsender keeps decoding while the target applies; at most
# READ_AHEAD_BYTES (16 MB) of messages are held.
#
# The observable: a target session holds an ACCESS EXCLUSIVE lock on the
# domain's table, so the job's first INSERT waits and the job waits for its
# results.  The source's walsender's sent_lsn (how far it has decoded and
# sent) must still reach the end of a load of 5 MB of messages committed
# meanwhile; without reading ahead it stops once the socket's buffer is
# full (a few hundred kB).  A second load of about 50 MB must stop short:
# the read-ahead is bounded.  After the lock is released everything is
# applied exactly once.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;
use Time::HiRes qw(usleep);

my ($src, $tgt) = source_and_target();

my @common = ('--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'ra');
my $log = $src->basedir . '/job.log';

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TABLE ra_t (id int PRIMARY KEY, v int NOT NULL, pad text);
INSERT INTO migration_split.domains (domain) VALUES ('ra');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('ra_t', 'ra');
INSERT INTO ra_t SELECT i, 0, 'seed' FROM generate_series(1, 100) i;
CREATE PROCEDURE load(first int, n int, per int, padlen int) LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 0 .. n / per - 1 LOOP
		INSERT INTO ra_t SELECT first + i * per + j, i, repeat('p', padlen)
		  FROM generate_series(0, per - 1) j;
		COMMIT;
	END LOOP;
END
$$;
});

command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');

my $job = IPC::Run::start([ 'migration-split', 'stream', @common ],
	'>>', $log, '2>>', $log);

my $digest = q{SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY id)) FROM %s t};

sub wait_same
{
	my ($what) = @_;
	my $d = $src->safe_psql('postgres', sprintf($digest, 'public.ra_t'));
	ok($tgt->poll_query_until('postgres', 'SELECT (' . sprintf($digest, 'ra.ra_t') . ") = '$d'"), $what);
}

# what the walsender has decoded and sent, and whether it is at least lsn
my $sent_sql = q{SELECT r.sent_lsn FROM pg_stat_replication r
	JOIN pg_replication_slots s ON s.active_pid = r.pid};

sub sent_reaches
{
	my ($lsn) = @_;
	return $src->poll_query_until('postgres', "SELECT ($sent_sql) >= '$lsn'");
}

wait_same('streaming');
# init copied the rows, so they can be equal before the stream connects:
# wait for its walsender (one, and only one)
ok($src->poll_query_until('postgres', "SELECT count(*) = 1 FROM ($sent_sql) r"),
	'the job\'s walsender is the only one');

# 1. the target's table locked: the job's INSERT waits, the source goes on
my $lock = $tgt->background_psql('postgres');
$lock->query_safe('BEGIN; LOCK TABLE ra.ra_t IN ACCESS EXCLUSIVE MODE');
my $start = $src->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
$src->safe_psql('postgres', 'CALL load(1000, 40000, 100, 50)');
my $end = $src->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
ok(sent_reaches($end),
	'while the job waits for the target, the walsender sends everything (about 5 MB of messages)');
ok($tgt->poll_query_until('postgres',
		q{SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock'
		  AND backend_type = 'client backend' AND pid <> pg_backend_pid()}),
	'the job\'s INSERT is waiting for the lock');
is($src->safe_psql('postgres',
		"SELECT confirmed_flush_lsn <= '$start' FROM pg_replication_slots WHERE slot_name = 'migration_split_ra'"),
	't', 'nothing of the load is applied yet (the job confirms nothing after its start)');

# 2. bounded: about 50 MB more of messages are not all read ahead
$src->safe_psql('postgres', 'CALL load(100000, 100000, 1000, 400)');
$end = $src->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
my ($prev, $now) = ('', $src->safe_psql('postgres', $sent_sql));
for (my $i = 0; $i < 60 && $now ne $prev; $i++)
{
	usleep(500_000);
	($prev, $now) = ($now, $src->safe_psql('postgres', $sent_sql));
}
is($now, $prev, 'the walsender stopped sending');
is($src->safe_psql('postgres', "SELECT '$now'::pg_lsn < '$end'"), 't',
	'before the end of the load: what the job reads ahead is bounded');

# 3. the lock released: everything applied, once
$lock->query_safe('COMMIT');
$lock->quit;
wait_same('after the lock, the target equals the source');
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM ra.ra_t'), '140100',
	'every row of both loads, once');

$job->signal('INT');
$job->finish;
is($job->result(0), 9, 'the job stops on SIGINT (exit 9, interrupted)');

done_testing();
