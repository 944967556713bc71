# migration-split under fire: a concurrent write load during init and
# stream, the job killed with SIGKILL at random moments (init and stream,
# at least 10 times) and restarted, the source and the target each
# restarted once while the stream runs.  At the end the target must equal
# the source row for row (checked with queries on both sides), which proves
# that no change was lost or applied twice.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;
use Time::HiRes qw(usleep);

my $seed = $ENV{JOB_KILL_SEED} // time();
srand($seed);
note "random seed $seed (set JOB_KILL_SEED to repeat)";

my ($src, $tgt) = source_and_target(source_conf => "max_connections = 40\n");

my $S = $src->connstr('postgres');
my $T = $tgt->connstr('postgres');
my @common = ('--source', $S, '--target', $T, '--domain', 'shop');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TABLE acct (id int PRIMARY KEY, val int NOT NULL, note text, big text);
CREATE TABLE item (id bigserial PRIMARY KEY, acct_id int, qty int);
CREATE TABLE audit (id bigserial PRIMARY KEY, what text);      -- another domain
INSERT INTO migration_split.domains (domain) VALUES ('shop'), ('audit');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('acct', 'shop'), ('item', 'shop'), ('audit', 'audit');
INSERT INTO acct SELECT i, 0, md5(i::text), CASE WHEN i % 50 = 0 THEN repeat(md5(i::text), 500) END
	FROM generate_series(1, 20000) i;
INSERT INTO item (acct_id, qty) SELECT 1 + i % 20000, i % 7 FROM generate_series(1, 100000) i;
});

# The load: every kind of change, in transactions of 1 to 5 changes,
# including key-changing updates (flipping the sign of the key) and updates
# leaving TOASTed values unchanged.
my $script = $src->basedir . '/load.sql';
PostgreSQL::Test::Utils::append_to_file($script, q{
\set a random(1, 20000)
\set b random(1, 20000)
\set k random(1, 10)
BEGIN;
UPDATE acct SET val = val + 1 WHERE id IN (:a, -:a);
UPDATE acct SET id = -id WHERE id IN (:b, -:b) AND :k <= 3;
INSERT INTO item (acct_id, qty) VALUES (:a, :k);
DELETE FROM item WHERE id = (SELECT max(id) - 50 FROM item) AND :k <= 4;
UPDATE acct SET note = md5(random()::text) WHERE id IN (:b, -:b) AND :k > 8;
INSERT INTO audit (what) VALUES ('x');
END;
});

sub start_load
{
	my ($seconds) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'pgbench', '-n', '-c', '2', '-T', $seconds, '-R', '150', '--max-tries', '100',
		  '-f', $script, $S ],
		'>', \$out, '2>', \$err);
	return $h;
}

# stream runs with 1 to 4 apply workers, chosen at random each time: the
# kills hit parallel apply at random points of its commit protocol too
sub apply_jobs { return ('--apply-jobs', 1 + int(rand(4))); }

sub start_job
{
	my (@args) = @_;
	my ($out, $err) = ('', '');
	my $log = $src->basedir . '/job.log';
	return IPC::Run::start([ 'migration-split', @args ], '>>', $log, '2>>', $log);
}

my $kills = 0;

# Kill a running job with SIGKILL after a random delay; returns true if it
# was still running (really killed).
sub kill_after
{
	my ($h, $min_ms, $max_ms) = @_;
	usleep(1000 * ($min_ms + int(rand($max_ms - $min_ms))));
	if ($h->pumpable)
	{
		$h->signal('KILL');
		$h->finish;
		$kills++;
		return 1;
	}
	$h->finish;
	return 0;
}

# init under load, killed up to three times
my $load = start_load(25);
sleep 1;
my $init_done = 0;
for my $i (1 .. 3)
{
	my $h = start_job('init', @common, '--jobs', '2', '--no-progress');
	if (!kill_after($h, 100, 1500))
	{
		$init_done = ($h->full_result(0) >> 8) == 0;
		last if $init_done;
	}
}
# a kill that came just after init finished leaves it done (the rerun would
# refuse: "is already done")
my ($phase_rc, $phase) = $tgt->psql('postgres',
	"SELECT phase FROM migration_split_job.jobs WHERE domain = 'shop'");
$init_done ||= ($phase_rc == 0 && $phase eq 'streaming');
if (!$init_done)
{
	my $h = start_job('init', @common, '--jobs', '2', '--no-progress');
	$h->finish;
	$init_done = ($h->full_result(0) >> 8) == 0;
}
ok($init_done, "init completed under load after $kills kills");
is($tgt->safe_psql('postgres',
	"SELECT count(*) FROM migration_split_job.tables WHERE state = 'copied'"), '2', 'both tables copied');

# stream under load, killed again and again
for my $i (1 .. 6)
{
	my $h = start_job('stream', @common, '--batch-time', '100', apply_jobs());
	kill_after($h, 300, 2000);
}
$load->finish;

# the source restarts while the stream runs: the stream reconnects
{
	$load = start_load(6);
	my $h = start_job('stream', @common, '--batch-time', '100', apply_jobs());
	sleep 1;
	$load->finish;
	$src->restart;
	$load = start_load(5);
	sleep 3;
	ok($h->pumpable, 'stream survived a source restart');
	$load->finish;
	sleep 1;
	$h->signal('KILL');
	$h->finish;
	$kills++;
}

# the target restarts while the stream runs
{
	$load = start_load(8);
	my $h = start_job('stream', @common, '--batch-time', '100', apply_jobs());
	sleep 2;
	$tgt->restart;
	sleep 3;
	ok($h->pumpable, 'stream survived a target restart');
	$h->signal('KILL');
	$h->finish;
	$kills++;

	for my $i (1 .. 4)
	{
		$h = start_job('stream', @common, '--batch-time', '100', apply_jobs());
		kill_after($h, 200, 1500);
	}
	$load->finish;
}

cmp_ok($kills, '>=', 10, "job killed with SIGKILL $kills times");

# catch up and compare
my $h = start_job('stream', @common, '--until-caught-up', '--apply-jobs', '3');
my $t = IPC::Run::timer(180);
$h->finish;
is($h->full_result(0) >> 8, 0, 'final stream --until-caught-up exits 0');

for my $q (
	[ 'acct', 'SELECT count(*), md5(string_agg(t::text, E\'\n\' ORDER BY id)) FROM %s.acct t' ],
	[ 'item', 'SELECT count(*), md5(string_agg(t::text, E\'\n\' ORDER BY id)) FROM %s.item t' ])
{
	my ($name, $sql) = @$q;
	my $s = $src->safe_psql('postgres', sprintf($sql, 'public'));
	my $g = $tgt->safe_psql('postgres', sprintf($sql, 'shop'));
	is($g, $s, "$name: target equals source row for row ($s)");
}
isnt($src->safe_psql('postgres', 'SELECT sum(val) FROM acct'), '0', 'the load changed rows');
cmp_ok($src->safe_psql('postgres', 'SELECT count(*) FROM acct WHERE id < 0'), '>', 0,
	'the load changed keys');
ok($tgt->safe_psql('postgres', "SELECT to_regclass('shop.audit') IS NULL") eq 't',
	'other domain not copied');

# WAL is released: the slot confirmed (nearly) everything
my $lag = $src->safe_psql('postgres',
	"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) FROM pg_replication_slots");
cmp_ok($lag, '<', 1024 * 1024, "slot confirmed up to near the end of WAL ($lag bytes behind)");

note(slurp_file($src->basedir . '/job.log'));
$src->stop;
$tgt->stop;
done_testing();
