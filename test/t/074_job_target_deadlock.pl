# A deadlock between the job's apply and a session of the service on the
# target is nothing a DBA must fix: the target rolls the job's batch back,
# and the job applies the same transactions again, as after a lost
# connection.  Before the fix the stream stopped with exit 7 ("Fix the
# target and run stream again").  The deadlock is made deterministic: the
# service holds row 2 and waits for row 1 once the job, holding row 1,
# waits for row 2; the job's sessions check for deadlocks first (the
# target database's deadlock_timeout is 2 s, the service's own session
# 60 s), so the job's transaction is the one the server ends.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

my @common = ('--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'dl');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO migration_split.domains (domain) VALUES ('dl');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('t', 'dl');
INSERT INTO t SELECT i, 'x' FROM generate_series(1, 5) i;
});
command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');
$tgt->safe_psql('postgres', "ALTER DATABASE postgres SET deadlock_timeout = '2s'");

# one source transaction: the job locks row 1, then needs row 2 (one
# DELETE of the run of both keys, which the index scan visits in key order;
# two statements could go in either order, apply.c run_flush)
$src->safe_psql('postgres', q{
BEGIN;
DELETE FROM t WHERE id = 1;
DELETE FROM t WHERE id = 2;
COMMIT;
});

# the service: row 2 first, then row 1 once the job waits for row 2
my ($svc_out, $svc_err) = ('', '');
my $svc = IPC::Run::start(
	[ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d', $tgt->connstr('postgres'),
	  '-c', "SET deadlock_timeout = '60s'",
	  '-c', 'BEGIN',
	  '-c', "UPDATE dl.t SET v = 'service' WHERE id = 2",
	  '-c', q{DO $$ BEGIN
	FOR i IN 1..1200 LOOP
		EXIT WHEN EXISTS (SELECT FROM pg_catalog.pg_locks WHERE locktype = 'transactionid' AND NOT granted);
		PERFORM pg_catalog.pg_sleep(0.05);
	END LOOP;
END $$},
	  '-c', "UPDATE dl.t SET v = 'service' WHERE id = 1",
	  '-c', 'COMMIT' ],
	'>', \$svc_out, '2>', \$svc_err);
$tgt->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE 'DO %'")
  or die 'the service session did not start';

my ($out, $err) = ('', '');
IPC::Run::run([ 'migration-split', 'stream', @common, '--until-caught-up' ], '>', \$out, '2>', \$err,
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
is($?, 0, 'the stream goes on after a deadlock with a service session') or diag($err);
like($err, qr/warning: streaming again from the applied position after a failure on the target: could not apply DELETE of 2 rows on table "public\.t" .*deadlock detected/,
	'the deadlock is reported as a warning');
like($err, qr/deadlock detected DETAIL: Process \d+ waits for [^\n]*\. Process \d+ waits for /,
	'on one line, the detail of both processes included');
$svc->finish;
is($? >> 8, 0, 'the service\'s transaction committed') or diag($svc_err);
is($tgt->safe_psql('postgres', "SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM dl.t"),
	'3:x,4:x,5:x', 'the source transaction was applied after the service\'s, whole');

done_testing();
