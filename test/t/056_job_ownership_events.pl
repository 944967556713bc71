# Ownership changes while the job streams.  A table tagged into the domain
# after init (and one that joins through ALTER TABLE ... INHERIT) is copied
# in online with a snapshot of its own: its changes before that snapshot
# are in the copy, those after it are applied, and no init --drop is
# needed.  A table untagged or moved to another domain stops the job with a
# message naming it, every time the job is run again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

my @common = ('--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'dom');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TABLE a (id int PRIMARY KEY, v text);
CREATE TABLE b (id serial PRIMARY KEY, v text, n int NOT NULL DEFAULT 0);
CREATE TABLE c (id int PRIMARY KEY, v text);
CREATE TABLE p (id int PRIMARY KEY, v text);
CREATE TABLE k (id int PRIMARY KEY, v text, extra int);
INSERT INTO migration_split.domains (domain) VALUES ('dom'), ('other');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('a', 'dom'), ('c', 'dom'), ('p', 'dom');
INSERT INTO a SELECT i, 'a' || i FROM generate_series(1, 100) i;
INSERT INTO b (v) SELECT 'b' || i FROM generate_series(1, 500) i;
INSERT INTO c SELECT i, 'c' || i FROM generate_series(1, 10) i;
INSERT INTO k SELECT i, 'k' || i, i FROM generate_series(1, 50) i;
});

command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');
is($tgt->safe_psql('postgres', q{SELECT to_regclass('dom.b') IS NULL}), 't',
	'b is not part of the domain at init');

# b joins: changes before, in and after the tagging transaction
$src->safe_psql('postgres', q{
UPDATE b SET n = 1 WHERE id <= 10;
INSERT INTO a VALUES (101, 'before the tag');
BEGIN;
UPDATE b SET n = 2 WHERE id BETWEEN 11 AND 20;
INSERT INTO migration_split.ownership (rel, domain) VALUES ('b', 'dom');
UPDATE b SET n = 3 WHERE id BETWEEN 21 AND 30;
COMMIT;
UPDATE b SET n = 4, v = 'changed' WHERE id BETWEEN 31 AND 40;
DELETE FROM b WHERE id BETWEEN 41 AND 50;
INSERT INTO b (v) VALUES ('new after the tag');
UPDATE b SET id = -id WHERE id = 60;
INSERT INTO a VALUES (102, 'after the tag');
});
# k joins through inheritance; its first change after that reveals it
$src->safe_psql('postgres', q{
ALTER TABLE k INHERIT p;
INSERT INTO k VALUES (51, 'k51', 51);
UPDATE k SET extra = -extra WHERE id <= 5;
});

my ($out, $err) = run_job('stream', '--until-caught-up');
is($?, 0, 'stream copies the tables that joined and goes on') or diag($err);
like($err, qr/table "public\.b" joined domain "dom": copying it as of/, 'the copy of b is reported');
like($err, qr/table "public\.k" joined domain "dom"/, 'the copy of k is reported');

my $digest = q{SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY id)), '') FROM %s t};
for my $t (qw(a b k))
{
	my $srcname = $t eq 'k' ? 'ONLY public.k' : "public.$t";
	is($tgt->safe_psql('postgres', sprintf($digest, "dom.$t")),
		$src->safe_psql('postgres', sprintf($digest, $srcname)),
		"$t: target equals source row for row");
}
is($tgt->safe_psql('postgres',
		q{SELECT sync_lsn IS NOT NULL AND state = 'copied' FROM migration_split_job.tables WHERE source_table = 'b'}),
	't', 'b is recorded as copied with the LSN of its snapshot');

# later changes of b flow like those of any table of the domain
$src->safe_psql('postgres', q{UPDATE b SET n = 5 WHERE id <= 100; DELETE FROM b WHERE id > 400;});
($out, $err) = run_job('stream', '--until-caught-up');
is($?, 0, 'stream again') or diag($err);
is($tgt->safe_psql('postgres', sprintf($digest, 'dom.b')),
	$src->safe_psql('postgres', sprintf($digest, 'public.b')),
	'b: later changes applied');

# c is moved to another domain: the job stops, naming it, every time
$src->safe_psql('postgres', q{
INSERT INTO c VALUES (11, 'still in the domain');
UPDATE migration_split.ownership SET domain = 'other' WHERE rel = 'c'::regclass;
INSERT INTO c VALUES (12, 'in another domain');
});
for my $run (1, 2)
{
	($out, $err) = run_job('stream', '--until-caught-up');
	is($? >> 8, 3, "run $run: stream stops with exit code 3 when a table leaves the domain");
	like($err, qr/table "public\.c" left domain "dom" on the source \(now in domain "other"; source commit LSN/,
		"run $run: the message names the table and where it went");
	like($err, qr/init --drop/, "run $run: the hint says what to do");
}
is($tgt->safe_psql('postgres', q{SELECT max(id) FROM dom.c}), '11',
	'the target has the changes of c up to the move');

# an untag is reported the same way
$src->safe_psql('postgres', q{
DELETE FROM migration_split.ownership WHERE rel = 'c'::regclass;
});
my ($o2, $e2) = run_job('stream', '--until-caught-up');
like($e2, qr/table "public\.c" left domain "dom"/, 'still stopped at the first change of membership');

done_testing();

sub run_job
{
	my ($cmd, @args) = @_;
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run([ 'migration-split', $cmd, @common, @args ], '>', \$stdout, '2>', \$stderr);
	return ($stdout, $stderr);
}
