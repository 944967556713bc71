# migration-split stream and a table of the domain dropped on the source
# and created again under the same name (then tagged again), or a column
# dropped and added again under the same name.  The name is the same, the
# source object is not: the job took the new table for the one it copied
# (the target kept the old table's rows and got the new table's changes on
# top of them) and the new column for the old one (the target's rows kept
# the old column's values), and went on (exit 0).  The job records the
# source identity of what it copies (the table's OID, each column's
# attnum) and must stop (exit 7) naming the table or column, while the
# stream runs and in a later run, for a column the stream added too.  A
# job state from before the identities were recorded keeps working, and
# takes them from each table's next change.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;
use Time::HiRes qw(usleep);

my ($src, $tgt) = source_and_target();

my $S = $src->connstr('postgres');
my $T = $tgt->connstr('postgres');

sub job
{
	my ($cmd, $domain, @args) = @_;
	return run_migration_split($cmd, '--source', $S, '--target', $T, '--domain', $domain, @args);
}

# Start a stream of domain in the background with a fresh log; returns
# the handle and the log's path.
sub stream_bg
{
	my ($domain) = @_;
	unlink($src->basedir . '/stream.log');
	return start_stream($src, '--source', $S, '--target', $T, '--domain', $domain);
}

# Wait until the query returns 't' on the target (at most 60 s).
sub wait_target
{
	my ($query) = @_;
	for (my $i = 0; $i < 600; $i++)
	{
		return 1 if $tgt->safe_psql('postgres', $query) eq 't';
		usleep(100_000);
	}
	return 0;
}

# Wait for the background stream to stop with an error (at most 60 s, or
# until the query says that the change was applied, as before); returns
# its exit code and log.
sub stream_end
{
	my ($h, $log, $applied) = @_;
	my $text = '';
	for (my $i = 0; $i < 600; $i++)
	{
		$text = -e $log ? slurp_file($log) : '';
		last if $text =~ /error:/;
		last if $tgt->safe_psql('postgres', $applied) eq 't';
		usleep(100_000);
	}
	if ($text !~ /error:/)
	{
		sleep(1);
		$h->kill_kill;
	}
	$h->finish;
	my $rc = $? >> 8;
	return ($rc, slurp_file($log));
}

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
INSERT INTO migration_split.domains (domain) VALUES ('shop'), ('idle'), ('inh'), ('cols'), ('legacy');
CREATE TABLE cart (id int PRIMARY KEY, v text);
CREATE TABLE item (id int PRIMARY KEY);
CREATE TABLE acct (id int PRIMARY KEY, v text);
CREATE TABLE prod (id int PRIMARY KEY, v text, n int);
CREATE TABLE old_t (id int PRIMARY KEY, v text);
CREATE TABLE par (id int PRIMARY KEY);
CREATE TABLE kid (PRIMARY KEY (id)) INHERITS (par);
SELECT migration_split.assign_table('cart', 'shop');
SELECT migration_split.assign_table('item', 'shop');
SELECT migration_split.assign_table('acct', 'idle');
SELECT migration_split.assign_table('prod', 'cols');
SELECT migration_split.assign_table('old_t', 'legacy');
SELECT migration_split.assign_table('par', 'inh');
INSERT INTO cart VALUES (1, 'a'), (2, 'b');
INSERT INTO item VALUES (1);
INSERT INTO acct VALUES (1, 'a'), (2, 'b');
INSERT INTO prod VALUES (1, 'a', 10), (2, 'b', 20);
INSERT INTO old_t VALUES (1, 'a');
INSERT INTO kid VALUES (1);
});
for my $d ('shop', 'idle', 'inh', 'cols', 'legacy')
{
	my ($rc, $out, $err) = job('init', $d, '--no-progress');
	is($rc, 0, "init of domain $d");
}
is($tgt->safe_psql('postgres', q{SELECT source_table, source_relid = 0 FROM migration_split_job.tables
	WHERE domain = 'shop' AND source_relid IS NOT NULL ORDER BY 1}), "cart|f\nitem|f",
	'init records the source OID of each table');
is($tgt->safe_psql('postgres', q{SELECT string_agg(source_column || ':' || source_attnum, ',' ORDER BY source_attnum)
	FROM migration_split_job.columns WHERE domain = 'cols' AND source_table = 'prod'}),
	'id:1,v:2,n:3', 'and the attnum of each column');

# 1. dropped and created again while the stream runs
my ($h, $log) = stream_bg('shop');
$src->safe_psql('postgres', q{INSERT INTO cart VALUES (3, 'c')});
ok(wait_target('SELECT count(*) = 1 FROM shop.cart WHERE id = 3'), 'the stream applies the insert before the drop');
$src->safe_psql('postgres', q{
DROP TABLE cart;
CREATE TABLE cart (id int PRIMARY KEY, v text);
SELECT migration_split.assign_table('cart', 'shop');
INSERT INTO cart VALUES (10, 'new');
});
my ($rc, $text) = stream_end($h, $log, 'SELECT count(*) > 0 FROM shop.cart WHERE id = 10');
is($rc, 7, 'table created again while the stream runs: exit 7');
like($text, qr/error: table "public\.cart" of the job was dropped and created again on the source \(source commit LSN [0-9A-F]+\/[0-9A-F]+\)/,
	'the error names the table');
like($text, qr/hint: The target's table holds the rows of the dropped table, .*init --drop/,
	'the hint says what the target holds and what to do');
is(table_rows($tgt, 'shop.cart'), '(1,a);(2,b);(3,c)', 'the target table holds the old table as it was dropped');

# the next run stops there too
my ($out, $err);
($rc, $out, $err) = job('stream', 'shop', '--until-caught-up');
is($rc, 7, 'a later stream: exit 7');
like($err, qr/table "public\.cart" of the job was dropped and created again on the source/, 'with the same error');

# init --drop copies the domain as it is
($rc, $out, $err) = job('init', 'shop', '--drop', '--no-progress');
is($rc, 0, 'init --drop');
$src->safe_psql('postgres', q{INSERT INTO cart VALUES (11, 'e')});
($rc, $out, $err) = job('stream', 'shop', '--until-caught-up');
is($rc, 0, 'stream after init --drop');
is(table_rows($tgt, 'shop.cart'), '(10,new);(11,e)', 'cart equal to the source');

# 2. dropped and created again while no stream runs, then tagged again
# without any change of the new table
$src->safe_psql('postgres', q{INSERT INTO acct VALUES (3, 'c')});
($rc, $out, $err) = job('stream', 'idle', '--until-caught-up');
is($rc, 0, 'stream before the drop');
$src->safe_psql('postgres', q{
DROP TABLE acct;
CREATE TABLE acct (id int PRIMARY KEY, v text);
INSERT INTO acct VALUES (20, 'before the tag');
SELECT migration_split.assign_table('acct', 'idle');
});
($rc, $out, $err) = job('stream', 'idle', '--until-caught-up');
is($rc, 7, 'table created again between two runs: exit 7');
like($err, qr/error: table "public\.acct" of the job was dropped and created again on the source/,
	'the error names the table');
is(table_rows($tgt, 'idle.acct'), '(1,a);(2,b);(3,c)', 'the target table keeps the old rows, nothing added');
like($err, qr/hint: .*to copy only this table again, drop it on the target and delete its row from migration_split_job\.tables: the next stream copies it as a table that joined the domain/,
	'the hint says how to copy only this table again');

# the hint's second way: only this table is copied again
$tgt->safe_psql('postgres', q{
DROP TABLE idle.acct;
DELETE FROM migration_split_job.tables WHERE domain = 'idle' AND source_table = 'acct';
});
$src->safe_psql('postgres', q{INSERT INTO acct VALUES (21, 'after the tag')});
($rc, $out, $err) = job('stream', 'idle', '--until-caught-up');
is($rc, 0, 'stream after the table was dropped on the target and forgotten');
like($err, qr/table "public\.acct" joined domain "idle": copying it/, 'the stream copies it again');
is(table_rows($tgt, 'idle.acct'), table_rows($src, 'acct'), 'acct equal to the source');
is($tgt->safe_psql('postgres', q{SELECT source_relid FROM migration_split_job.tables WHERE domain = 'idle' AND source_table = 'acct'}),
	$src->safe_psql('postgres', q{SELECT 'acct'::regclass::oid}), 'with the new table\'s OID recorded');
$src->safe_psql('postgres', q{UPDATE acct SET v = 'changed' WHERE id = 20});
($rc, $out, $err) = job('stream', 'idle', '--until-caught-up');
is($rc, 0, 'and streams its changes');
is(table_rows($tgt, 'idle.acct'), table_rows($src, 'acct'), 'acct still equal');

# 2b. an inheritance child of a tagged table dropped and created again as
# a child: it joins without an O, its first change's R says it
($rc, $out, $err) = job('stream', 'inh', '--until-caught-up');
is($rc, 0, 'stream of the domain with an inheritance child');
is($tgt->safe_psql('postgres', q{SELECT string_agg(source_table, ',' ORDER BY 1) FROM migration_split_job.tables
	WHERE domain = 'inh' AND state = 'copied'}), 'kid,par', 'the job copied parent and child');
$src->safe_psql('postgres', q{
DROP TABLE kid;
CREATE TABLE kid (PRIMARY KEY (id)) INHERITS (par);
INSERT INTO kid VALUES (30);
});
($rc, $out, $err) = job('stream', 'inh', '--until-caught-up');
is($rc, 7, 'inheritance child created again: exit 7');
like($err, qr/error: table "public\.kid" of the job was dropped and created again on the source/,
	'the error names the table');
is(table_rows($tgt, 'inh.kid'), '(1)', 'the target table keeps the old rows, nothing added');

# 3. a column dropped and added again under the same name, between runs
$src->safe_psql('postgres', q{UPDATE prod SET n = 11 WHERE id = 1});
($rc, $out, $err) = job('stream', 'cols', '--until-caught-up');
is($rc, 0, 'stream before the column is dropped');
$src->safe_psql('postgres', q{
ALTER TABLE prod DROP COLUMN v;
ALTER TABLE prod ADD COLUMN v text;
UPDATE prod SET n = 12 WHERE id = 1;
});
($rc, $out, $err) = job('stream', 'cols', '--until-caught-up');
is($rc, 7, 'column dropped and added again: exit 7');
like($err, qr/error: column "v" of table "public\.prod" was dropped and added again on the source \(source commit LSN [0-9A-F]+\/[0-9A-F]+\)/,
	'the error names the column');
like($err, qr/hint: The target's rows keep the values of the dropped column, .*init --drop/,
	'the hint says what the target holds and what to do');
is(table_rows($tgt, 'cols.prod'), '(1,a,11);(2,b,20)', 'the target table is as before the drop');

# copied again alone, the table is as on the source
$tgt->safe_psql('postgres', q{
DROP TABLE cols.prod;
DELETE FROM migration_split_job.tables WHERE domain = 'cols' AND source_table = 'prod';
});
($rc, $out, $err) = job('stream', 'cols', '--until-caught-up');
is($rc, 0, 'stream after the table was dropped on the target and forgotten');
is(table_rows($tgt, 'cols.prod'), '(1,12,);(2,20,)', 'prod equal to the source');

# 4. while the stream runs, a column the stream added, added again with
# another type
($rc, $out, $err) = job('init', 'cols', '--drop', '--no-progress');
is($rc, 0, 'init --drop of domain cols');
($h, $log) = stream_bg('cols');
$src->safe_psql('postgres', q{
ALTER TABLE prod ADD COLUMN x int;
UPDATE prod SET x = 1 WHERE id = 1;
});
ok(wait_target(q{SELECT count(*) = 1 FROM cols.prod t WHERE to_jsonb(t)->>'x' = '1'}), 'the stream adds the column');
is($tgt->safe_psql('postgres', q{SELECT source_attnum FROM migration_split_job.columns
	WHERE domain = 'cols' AND source_table = 'prod' AND source_column = 'x'}),
	$src->safe_psql('postgres', q{SELECT attnum FROM pg_attribute WHERE attrelid = 'prod'::regclass AND attname = 'x'}),
	'and records its attnum');
$src->safe_psql('postgres', q{
ALTER TABLE prod DROP COLUMN x;
ALTER TABLE prod ADD COLUMN x text;
UPDATE prod SET x = 'two' WHERE id = 2;
});
($rc, $text) = stream_end($h, $log, q{SELECT count(*) > 0 FROM cols.prod t WHERE to_jsonb(t)->>'x' = 'two'});
is($rc, 7, 'column added again with another type while the stream runs: exit 7');
like($text, qr/error: column "x" of table "public\.prod" was dropped and added again on the source/,
	'the error names the column');
is(table_rows($tgt, 'cols.prod'), '(1,12,,1);(2,20,,)', 'the target table is as before the drop');
($rc, $out, $err) = job('init', 'cols', '--drop', '--no-progress');
is($rc, 0, 'init --drop after the column was added again');
($rc, $out, $err) = job('stream', 'cols', '--until-caught-up');
is($rc, 0, 'stream after init --drop');
is(table_rows($tgt, 'cols.prod'), table_rows($src, 'prod'), 'prod equal to the source');

# 5. a job state from before the identities (no source_relid, no columns
# table) keeps working; the stream adds what it lacks, and a table's first
# change gives it the identity of the source table then
$tgt->safe_psql('postgres', q{
ALTER TABLE migration_split_job.tables DROP COLUMN source_relid;
DROP TABLE migration_split_job.columns;
});
$src->safe_psql('postgres', q{
INSERT INTO old_t VALUES (2, 'b');
ALTER TABLE old_t ADD COLUMN w int;
INSERT INTO old_t VALUES (3, 'c', 3);
});
($rc, $out, $err) = job('stream', 'legacy', '--until-caught-up');
is($rc, 0, 'stream on a job state from before the identities');
is(table_rows($tgt, 'legacy.old_t'), '(1,a,);(2,b,);(3,c,3)', 'the changes are applied');
is($tgt->safe_psql('postgres', q{SELECT source_relid FROM migration_split_job.tables WHERE domain = 'legacy'}),
	$src->safe_psql('postgres', q{SELECT 'old_t'::regclass::oid}), 'the table got the source OID of its first change');
is($tgt->safe_psql('postgres', q{SELECT string_agg(source_column || ':' || source_attnum, ',' ORDER BY source_attnum)
	FROM migration_split_job.columns WHERE domain = 'legacy'}),
	'id:1,v:2,w:3', 'its columns their attnums, the added one too');
$src->safe_psql('postgres', q{
DROP TABLE old_t;
CREATE TABLE old_t (id int PRIMARY KEY, v text, w int);
SELECT migration_split.assign_table('old_t', 'legacy');
INSERT INTO old_t VALUES (40, 'new', 40);
});
($rc, $out, $err) = job('stream', 'legacy', '--until-caught-up');
is($rc, 7, 'from then on, a table created again stops the job');
like($err, qr/error: table "public\.old_t" of the job was dropped and created again on the source/,
	'the error names the table');
is(table_rows($tgt, 'legacy.old_t'), '(1,a,);(2,b,);(3,c,3)', 'nothing of the new table is applied');

done_testing();
