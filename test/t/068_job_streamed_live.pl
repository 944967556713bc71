# migration-split stream applies a large transaction that the source
# streams (logical_decoding_work_mem = 64kB) on the target while it still
# runs on the source (src/job/live.c), and commits it at its streamed
# commit.
#
# The observable: while the source transaction is open, a target backend
# of the job is idle in a transaction with an xid; after the commit, every
# row the source transaction wrote carries that xid as xmin on the target.
# Applied from the spool at the commit (--spool-streamed, or the live path
# broken), the rows would carry the xid of a transaction begun after the
# source commit, and no job backend would hold an xid before it.
#
# Cases: a rolled-back savepoint inside the live transaction and a small
# transaction committed in the middle of it; a top-level abort after
# streaming; two interleaved streamed transactions (one live, one spooled);
# a hold of verify before the streamed commit;
# a lock wait of the job's other connection on the live transaction (a
# target trigger writing one row for both): the job must fall back, not
# hang; SIGKILL of the job while the live transaction is open, and after
# the source commit, then a rerun: exactly once (the source's updates add
# to the values, so a change applied twice shows); a TRUNCATE and a column
# added inside a live transaction (applied at the commit instead);
# --spool-streamed; a table copied (at its join) from a snapshot later than
# a change of the live transaction (applied at the commit instead).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;
use Time::HiRes qw(usleep);

my ($src, $tgt) =
  source_and_target(source_conf => "logical_decoding_work_mem = 64kB\n");

my @common = ('--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'live');
my $log = $src->basedir . '/job.log';

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TABLE live_t (id int PRIMARY KEY, n int NOT NULL, pad text);
CREATE TABLE live_u (id int PRIMARY KEY, v text);
INSERT INTO migration_split.domains (domain) VALUES ('live');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('live_t', 'live'), ('live_u', 'live');
INSERT INTO live_t SELECT i, 0, 'seed' FROM generate_series(1, 20000) i;
});

command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');

sub start_job
{
	my (@args) = @_;
	return IPC::Run::start([ 'migration-split', 'stream', @common, @args ],
		'>>', $log, '2>>', $log);
}

my $digest = q{SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY id)), '') FROM %s t};

sub same_tables
{
	my ($what) = @_;
	is($tgt->safe_psql('postgres', sprintf($digest, 'live.live_t')),
		$src->safe_psql('postgres', sprintf($digest, 'public.live_t')),
		"$what: live_t equals the source row for row");
	is($tgt->safe_psql('postgres', sprintf($digest, 'live.live_u')),
		$src->safe_psql('postgres', sprintf($digest, 'public.live_u')),
		"$what: live_u equals the source row for row");
}

# the xid of the job's target transaction that is open (a live one)
# (idle in it between blocks of the source transaction, active in a block)
my $open_xid_sql = q{SELECT backend_xid FROM pg_stat_activity
	WHERE backend_type = 'client backend' AND state <> 'idle'
	AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()};

sub live_xid
{
	for (my $i = 0; $i < 600; $i++)
	{
		my $x = $tgt->safe_psql('postgres', $open_xid_sql);
		return $x if $x =~ /^\d+$/;
		usleep(100_000);
	}
	return '';
}

# wait until both tables equal the source's
sub wait_same
{
	my ($what) = @_;
	my $q = '';
	for my $t ('live_t', 'live_u')
	{
		my $d = $src->safe_psql('postgres', sprintf($digest, "public.$t"));
		$q .= ($q ? ' AND ' : 'SELECT ') . '(' . sprintf($digest, "live.$t") . ") = '$d'";
	}
	ok($tgt->poll_query_until('postgres', $q), $what);
}

sub wait_target
{
	my ($query, $what) = @_;
	ok($tgt->poll_query_until('postgres', $query), $what);
}

my $job = start_job('--batch-time', '50');

# 1. applied while it runs: a savepoint rolled back, a small transaction
# committed in the middle, then the commit
my $a = $src->background_psql('postgres');
$a->query_safe(q{BEGIN;
UPDATE live_t SET n = n + 1 WHERE id <= 10000;
SAVEPOINT s1;
UPDATE live_t SET n = -100, pad = 'rolled back' WHERE id <= 3000;
INSERT INTO live_u SELECT i, repeat('r', 100) FROM generate_series(50001, 52000) i;
ROLLBACK TO SAVEPOINT s1;
INSERT INTO live_u SELECT i, repeat('k', 100) FROM generate_series(10001, 13000) i;});
my $xid = live_xid();
isnt($xid, '', 'a job backend holds an open target transaction while the source transaction runs');
$src->safe_psql('postgres', q{INSERT INTO live_u VALUES (1, 'small')});
wait_target(q{SELECT count(*) = 1 FROM live.live_u WHERE id = 1},
	'a small transaction committed meanwhile is applied before the large one commits');
$a->query_safe(q{UPDATE live_t SET pad = 'late' WHERE id BETWEEN 15001 AND 20000;});
is($tgt->safe_psql('postgres', q{SELECT count(*) FROM live.live_u WHERE id > 10000}), '0',
	'nothing of the open source transaction is visible on the target');
is(live_xid(), $xid, 'the same target transaction is still open');
# target xids below this one were assigned before the source commit
my $before = $tgt->safe_psql('postgres', 'SELECT pg_catalog.txid_current()');
$a->query_safe('COMMIT');
wait_same('the large transaction is committed on the target');
# its rows carry the xid of the live transaction, or of its
# subtransactions (savepoints), all assigned before the source commit
my $by_live = "xmin::text::bigint BETWEEN $xid AND $before";
is($tgt->safe_psql('postgres',
		"SELECT count(*) FROM live.live_t WHERE $by_live")
	  . '|' . $tgt->safe_psql('postgres', "SELECT count(*) FROM live.live_u WHERE id > 1 AND $by_live"),
	'15000|3000',
	'every row of the large transaction was written on the target before the source commit');
is($tgt->safe_psql('postgres', q{SELECT count(*) FROM live.live_t WHERE n < 0 OR pad = 'rolled back'}),
	'0', 'nothing of the rolled-back savepoint reached the target');

# 2. a top-level abort after streaming: the target is unchanged
$a->query_safe(q{BEGIN; UPDATE live_t SET n = n + 1000 WHERE id <= 8000;});
$xid = live_xid();
isnt($xid, '', 'the transaction that will abort is applied live');
$a->query_safe('ROLLBACK');
$src->safe_psql('postgres', q{INSERT INTO live_u VALUES (2, 'after abort')});
wait_target(q{SELECT count(*) = 1 FROM live.live_u WHERE id = 2}, 'the stream went on after the abort');
is($tgt->safe_psql('postgres', "SELECT count(*) FROM ($open_xid_sql) x"), '0',
	'the aborted transaction is rolled back on the target');
same_tables('abort');

# 3. two interleaved streamed transactions: one live, the other spooled
my $b = $src->background_psql('postgres');
$a->query_safe(q{BEGIN; UPDATE live_t SET n = n + 2 WHERE id <= 5000;});
$xid = live_xid();
$b->query_safe(q{BEGIN; INSERT INTO live_u SELECT i, repeat('b', 100) FROM generate_series(20001, 24000) i;});
$a->query_safe(q{UPDATE live_t SET n = n + 3 WHERE id BETWEEN 5001 AND 10000;});
$b->query_safe(q{UPDATE live_u SET v = 'b2' WHERE id BETWEEN 20001 AND 22000;});
$b->query_safe('COMMIT');
wait_target(q{SELECT count(*) = 4000 FROM live.live_u WHERE id > 20000},
	'the spooled transaction that committed first is applied');
$a->query_safe('COMMIT');
wait_same('the live transaction that committed second is applied');
is($tgt->safe_psql('postgres',
		"SELECT count(*) FILTER (WHERE xmin::text = '$xid') FROM live.live_t WHERE id <= 10000")
	  . '|' . $tgt->safe_psql('postgres', "SELECT count(*) FILTER (WHERE xmin::text = '$xid') FROM live.live_u"),
	'10000|0', 'the first streamed transaction was applied live, the other one not');

# 3b. a hold of verify (written into the job row as verify writes it:
# pause before the next transaction) stops the stream before the streamed
# commit; the live transaction stays open until the hold is released
$a->query_safe(q{BEGIN; UPDATE live_t SET n = n + 1 WHERE id BETWEEN 10001 AND 14000;});
$xid = live_xid();
isnt($xid, '', 'applied live before the hold');
$tgt->safe_psql('postgres', q{UPDATE migration_split_job.jobs SET hold_lsn = '0/0', held_lsn = NULL,
	hold_expires_at = now() + interval '5 min' WHERE domain = 'live'});
wait_target(q{SELECT held_lsn = '0/0' FROM migration_split_job.jobs WHERE domain = 'live'}, 'the stream holds');
$a->query_safe('COMMIT');
sleep 2;
is($tgt->safe_psql('postgres', q{SELECT count(*) FROM live.live_t WHERE id BETWEEN 10001 AND 14000 AND n = 1}),
	'0', 'held: the transaction that committed on the source is not committed on the target');
is(live_xid(), $xid, 'its live target transaction is still open');
$tgt->safe_psql('postgres', q{UPDATE migration_split_job.jobs SET hold_lsn = NULL, held_lsn = NULL,
	hold_expires_at = NULL WHERE domain = 'live'});
wait_same('released: the transaction is committed');

# 4. a lock wait: a target trigger (enabled always, so it fires for the
# job) counts updates in one row; the live transaction holds that row, the
# job's other connection then waits for it.  The job must roll the live
# transaction back and apply it at its commit.
$tgt->safe_psql('postgres', q{
CREATE TABLE live.cnt (k int PRIMARY KEY, c bigint NOT NULL);
INSERT INTO live.cnt VALUES (1, 0);
CREATE FUNCTION live.count_upd() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN UPDATE live.cnt SET c = c + 1 WHERE k = 1; RETURN NULL; END$$;
CREATE TRIGGER count_upd AFTER UPDATE ON live.live_t FOR EACH ROW EXECUTE FUNCTION live.count_upd();
ALTER TABLE live.live_t ENABLE ALWAYS TRIGGER count_upd;
});
$a->query_safe(q{BEGIN; UPDATE live_t SET n = n + 5 WHERE id <= 4000;});
$xid = live_xid();
isnt($xid, '', 'the transaction is applied live');
$src->safe_psql('postgres', q{UPDATE live_t SET n = n + 7 WHERE id = 19000});
wait_target(q{SELECT n = 7 FROM live.live_t WHERE id = 19000},
	'the job does not hang on a lock the live transaction holds: the other change is applied');
like(slurp_file($log),
	qr/streamed transaction \d+ is applied at its commit instead of while it runs: another target connection of the job waits for a lock it holds/,
	'the job says why it fell back');
$a->query_safe(q{UPDATE live_t SET n = n + 5 WHERE id BETWEEN 4001 AND 6000; COMMIT;});
wait_same('the transaction is applied at its commit');
is($tgt->safe_psql('postgres', q{SELECT c FROM live.cnt}), '6001',
	'the trigger counted each update once: the rolled-back live part is gone');
$tgt->safe_psql('postgres', q{DROP TRIGGER count_upd ON live.live_t});
same_tables('lock wait');

# 5. SIGKILL of the job while the live transaction is open, and once more
# around the source commit; a rerun applies everything exactly once
$a->query_safe(q{BEGIN; UPDATE live_t SET n = n + 10 WHERE id <= 9000;});
$xid = live_xid();
isnt($xid, '', 'applied live before the kill');
$job->signal('KILL');
$job->finish;
ok($tgt->poll_query_until('postgres', "SELECT count(*) = 0 FROM ($open_xid_sql) x"),
	'the killed job\'s open target transaction is gone');
$job = start_job('--batch-time', '50');
my $xid2 = live_xid();
isnt($xid2, '', 'the rerun applies the transaction live again from its start');
isnt($xid2, $xid, 'in a new target transaction');
$a->query_safe(q{INSERT INTO live_u SELECT i, 'killed' FROM generate_series(30001, 33000) i; COMMIT;});
usleep(int(rand(400_000)));
$job->signal('KILL');
$job->finish;
$src->safe_psql('postgres', q{INSERT INTO live_u VALUES (3, 'last')});
command_ok([ 'migration-split', 'stream', @common, '--until-caught-up' ], 'rerun catches up');
same_tables('killed');
is($tgt->safe_psql('postgres', q{SELECT count(*) FROM live.live_t WHERE id <= 9000 AND n < 10}), '0',
	'the killed transaction is applied (each of its updates once: see the digests)');

# 6b. what a live transaction cannot apply before its commit: a TRUNCATE,
# a column added on the source; applied from the spool at the commit
$job = start_job('--batch-time', '50');
$a->query_safe(q{BEGIN; UPDATE live_t SET n = n + 1 WHERE id <= 5000;});
$xid = live_xid();
isnt($xid, '', 'applied live before the TRUNCATE');
$a->query_safe(q{TRUNCATE live_u; INSERT INTO live_u VALUES (7, 'after truncate'); COMMIT;});
wait_same('a streamed transaction with a TRUNCATE is applied at its commit');
like(slurp_file($log), qr/streamed transaction \d+ is applied at its commit instead of while it runs: it truncates a table/,
	'the job says why');
$a->query_safe(q{BEGIN; UPDATE live_t SET n = n + 1 WHERE id <= 5000;});
$xid = live_xid();
isnt($xid, '', 'applied live before the new column');
$a->query_safe(q{ALTER TABLE live_t ADD COLUMN extra int; UPDATE live_t SET extra = id WHERE id BETWEEN 5001 AND 9000; COMMIT;});
wait_same('a streamed transaction that adds a column is applied at its commit');
like(slurp_file($log), qr/streamed transaction \d+ is applied at its commit instead of while it runs: table \S+ lacks column "extra"/,
	'the job says why');
$job->signal('TERM');
$job->finish;

# 6. --spool-streamed: the transaction is applied only at its commit
$job = start_job('--batch-time', '50', '--spool-streamed');
$a->query_safe(q{BEGIN; UPDATE live_t SET n = n + 1 WHERE id <= 6000;});
sleep 3;
is($tgt->safe_psql('postgres', "SELECT count(*) FROM ($open_xid_sql) x"), '0',
	'--spool-streamed: no target transaction is open while the source transaction runs');
$before = $tgt->safe_psql('postgres', 'SELECT pg_catalog.txid_current()');
$a->query_safe('COMMIT');
wait_same('--spool-streamed: applied at the commit');
is($tgt->safe_psql('postgres', "SELECT count(*) FROM live.live_t WHERE id <= 6000 AND xmin::text::bigint > $before"),
	'6000', '--spool-streamed: its rows were written after the source commit');
$job->signal('TERM');
$job->finish;

# 7. a table that joins the domain while no job runs is copied when the
# stream reaches its join, from a snapshot of that moment: later than a
# large transaction that changed it after the join and committed before a
# newer change.  Only its commit can say whether the copy holds it: applied
# live, its old values would overwrite the newer ones of the copy.
$src->safe_psql('postgres', q{
CREATE TABLE live_j (id int PRIMARY KEY, n int NOT NULL);
INSERT INTO live_j SELECT i, 0 FROM generate_series(1, 100) i;
INSERT INTO migration_split.ownership (rel, domain) VALUES ('live_j', 'live');
BEGIN;
UPDATE live_t SET n = n + 1 WHERE id <= 6000;
UPDATE live_j SET n = 1 WHERE id <= 50;
COMMIT;
UPDATE live_j SET n = 2 WHERE id <= 50;
});
my ($jout, $jerr) = ('', '');
IPC::Run::run([ 'migration-split', 'stream', @common, '--until-caught-up', '-v' ], '>', \$jout, '2>', \$jerr);
is($? >> 8, 0, 'stream through the join of live_j') or diag($jerr);
like($jerr, qr/table "public\.live_j" joined domain "live"/, 'live_j was copied in at its join');
like($jerr, qr/streamed transaction \d+ is applied at its commit instead of while it runs: table "public\.live_j" was copied from a snapshot at [0-9A-F]+\/[0-9A-F]+, after this change/,
	'the large transaction is applied at its commit, and the job says why');
is($tgt->safe_psql('postgres', sprintf($digest, 'live.live_j')),
	$src->safe_psql('postgres', sprintf($digest, 'public.live_j')),
	'live_j equals the source row for row (the newer values kept)');
same_tables('after the join');

command_fails_like([ 'migration-split', 'status', @common, '--spool-streamed' ],
	qr/option --spool-streamed is only valid for stream/, '--spool-streamed is refused by other commands');

$a->quit;
$b->quit;
done_testing();
