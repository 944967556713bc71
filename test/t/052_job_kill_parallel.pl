# Parallel apply (stream --apply-jobs N) killed at the points of its commit
# protocol (coordinator.c): after apply workers committed batches but
# before the job row's position moved past them, and while a worker's batch
# is committing with other workers' batches open.  The kill points are made
# reachable by triggers on the job's state tables that sleep on request.
# After every kill the stream restarts (with another number of workers);
# at the end the target equals the source, and the job row's counters equal
# the number of source changes and transactions exactly: nothing was lost
# or applied twice.  Dependent transactions (the same rows over and over, a
# key-changing update, a unique index other than the key) run through 4
# workers first and must come out right.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

my $S = $src->connstr('postgres');
my $T = $tgt->connstr('postgres');
my @common = ('--source', $S, '--target', $T, '--domain', 'shop');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TABLE acct (id int PRIMARY KEY, val int NOT NULL);
CREATE TABLE item (id bigserial PRIMARY KEY, acct_id int, qty int);
CREATE TABLE login (id int PRIMARY KEY, email text UNIQUE, n int);
INSERT INTO migration_split.domains (domain) VALUES ('shop');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('acct', 'shop'), ('item', 'shop'), ('login', 'shop');
INSERT INTO acct SELECT i, 0 FROM generate_series(1, 2000) i;
INSERT INTO login SELECT i, 'u' || i, 0 FROM generate_series(1, 20) i;
-- n transactions of exactly two changes each: an update of a random
-- account (not idempotent: a repeat shows) and an insert
CREATE PROCEDURE gen(n int, hot int) LANGUAGE plpgsql AS $$
DECLARE
	k int;
BEGIN
	FOR i IN 1 .. n LOOP
		k := 1 + floor(random() * hot)::int;
		UPDATE acct SET val = val + 1 WHERE id = k;
		INSERT INTO item (acct_id, qty) VALUES (i, i % 7);
		COMMIT;
	END LOOP;
END
$$;
});

command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');

my $changes = 0;
my $xacts = 0;

# --- dependent transactions through 4 workers ------------------------------
$src->safe_psql('postgres', q{
CALL gen(3000, 10);
-- a key-changing update followed by changes of the new and the old key
UPDATE acct SET id = -id WHERE id = 5;
UPDATE acct SET val = val + 100 WHERE id = -5;
INSERT INTO acct VALUES (5, 42);
-- an email moved from one row to another, in separate transactions:
-- unique index other than the key
UPDATE login SET email = NULL WHERE id = 1;
UPDATE login SET email = 'u1' WHERE id = 2;
DELETE FROM login WHERE id = 3;
INSERT INTO login VALUES (21, 'u3', 1);
UPDATE login SET n = n + 1;
});
$changes += 2 * 3000 + 3 + 4 + 20;
$xacts += 3000 + 3 + 5;

command_ok([ 'migration-split', 'stream', @common, '--until-caught-up', '--apply-jobs', '4' ],
	'stream with 4 apply workers');

sub compare
{
	my ($what) = @_;
	for my $t ('acct', 'item', 'login')
	{
		my $sql = "SELECT count(*), md5(string_agg(t::text, ',' ORDER BY id)) FROM %s.$t t";
		is($tgt->safe_psql('postgres', sprintf($sql, 'shop')),
			$src->safe_psql('postgres', sprintf($sql, 'public')),
			"$what: $t equals the source");
	}
}
compare('4 workers, dependent transactions');

# --- kill points -------------------------------------------------------------
# Sleep in the job's own statements while public.killpoint names them (the
# TAP environment sets PGAPPNAME, so the job's sessions are told apart from
# the test's by pg_backend_pid() only);
# ENABLE ALWAYS: the job's sessions run with session_replication_role = replica.
$tgt->safe_psql('postgres', q{
CREATE TABLE public.killpoint (name text PRIMARY KEY);
CREATE SEQUENCE public.killpoint_seq;
CREATE FUNCTION public.killpoint_sleep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	-- not at the first statements of a session: those commit the
	-- transactions that describe the relations, alone
	IF EXISTS (SELECT FROM public.killpoint WHERE name = TG_TABLE_NAME)
		AND pg_catalog.nextval('public.killpoint_seq') > 6 THEN
		PERFORM pg_sleep(3600);
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER killpoint BEFORE UPDATE ON migration_split_job.jobs
	FOR EACH STATEMENT EXECUTE FUNCTION public.killpoint_sleep();
CREATE TRIGGER killpoint BEFORE INSERT ON migration_split_job.applied_xacts
	FOR EACH STATEMENT EXECUTE FUNCTION public.killpoint_sleep();
ALTER TABLE migration_split_job.jobs ENABLE ALWAYS TRIGGER killpoint;
ALTER TABLE migration_split_job.applied_xacts ENABLE ALWAYS TRIGGER killpoint;
});

my $log = $src->basedir . '/job.log';

sub start_parallel_stream
{
	my ($jobs) = @_;
	return IPC::Run::start(
		[ 'migration-split', 'stream', @common, '--apply-jobs', $jobs, '--batch-time', '50',
		  '--batch-changes', '40' ],
		'>>', $log, '2>>', $log);
}

# Kill the job once one of its statements sleeps at the kill point, then
# end its target sessions (the sleeping one would not notice the client
# went away); returns what $check returned at that moment.
sub kill_at
{
	my ($point, $jobs, $check) = @_;
	$tgt->safe_psql('postgres', "INSERT INTO public.killpoint VALUES ('$point');"
		  . " SELECT setval('public.killpoint_seq', 1, false)");
	$src->safe_psql('postgres', 'CALL gen(1500, 2000)');
	$changes += 3000;
	$xacts += 1500;
	my $h = start_parallel_stream($jobs);
	ok($tgt->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event = 'PgSleep'"),
		"kill point $point reached with $jobs workers");
	my $seen = $check->();
	$h->signal('KILL');
	$h->finish;
	$tgt->safe_psql('postgres', q{
		DELETE FROM public.killpoint;
		SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE backend_type = 'client backend' AND pid <> pg_backend_pid();
	});
	$tgt->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
	return $seen;
}

# 1. batches committed by workers, the position not yet moved past them
for my $jobs (3, 2)
{
	my $beyond = kill_at('jobs', $jobs, sub {
		$tgt->safe_psql('postgres',
			'SELECT count(*) FROM migration_split_job.applied_xacts a'
			  . ' JOIN migration_split_job.jobs j USING (domain) WHERE a.commit_lsn >= j.applied_lsn');
	});
	cmp_ok($beyond, '>', 0,
		"$jobs workers killed with $beyond committed transactions beyond the position");
}

# 2. a worker's batch committing (its applied_xacts rows being written)
# while the other workers' batches of the same commit round committed
{
	my $seen = kill_at('applied_xacts', 4, sub {
		$tgt->safe_psql('postgres',
			"SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
			  . " AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL)"
			  . " || ' ' || (SELECT count(*) FROM migration_split_job.applied_xacts a"
			  . " JOIN migration_split_job.jobs j USING (domain) WHERE a.commit_lsn >= j.applied_lsn)");
	});
	my ($open, $beyond) = split / /, $seen;
	cmp_ok($open, '>=', 1, "killed with a worker's commit in flight ($open open)");
	cmp_ok($beyond, '>', 0, "... and $beyond transactions of other workers committed beyond the position");
}

# the rest, with one worker: the position does not depend on the number
command_ok([ 'migration-split', 'stream', @common, '--until-caught-up', '--apply-jobs', '1' ],
	'stream with 1 worker after the kills');
compare('after kills at the commit points');
is($tgt->safe_psql('postgres',
	"SELECT rows_applied || ' ' || xacts_applied FROM migration_split_job.jobs"),
	"$changes $xacts", 'counters: every change and transaction counted once');
is($tgt->safe_psql('postgres',
	'SELECT count(*) FROM migration_split_job.applied_xacts'), '0',
	'no applied transaction left beyond the position once caught up');

command_fails_like([ 'migration-split', 'stream', @common, '--apply-jobs', '0' ],
	qr/--apply-jobs/, 'apply-jobs must be at least 1');

note(slurp_file($log));
$src->stop;
$tgt->stop;
done_testing();
