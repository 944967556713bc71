# migration-split stream and a column added on the source while streaming:
# the values the rows that existed then got without any change in the
# stream.  A constant default (as Django adds a NOT NULL column: ADD COLUMN
# ... DEFAULT, then DROP DEFAULT) gives them that value on the source, and
# must give the target's copies the same value, also in a partitioned
# table.  A volatile default (random(), serial) rewrites the table with
# values no change carries: the job must stop, not leave them NULL.  A
# rewrite that gave the added column no value (ALTER COLUMN ... TYPE after
# a plain ADD COLUMN) must not stop it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

my $S = $src->connstr('postgres');
my $T = $tgt->connstr('postgres');

# Run the job for a domain; return (exit code, stdout, stderr).
sub job
{
	my ($cmd, $domain, @args) = @_;
	return run_migration_split($cmd, '--source', $S, '--target', $T, '--domain', $domain, @args);
}

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
INSERT INTO migration_split.domains (domain) VALUES ('konst'), ('plain'), ('vol'), ('ser');
CREATE TABLE k (id int PRIMARY KEY, v text);
CREATE TABLE kp (id int, region int, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE kp1 PARTITION OF kp FOR VALUES IN (1);
CREATE TABLE kp2 PARTITION OF kp FOR VALUES IN (2);
CREATE TABLE p (id int PRIMARY KEY, n int);
CREATE TABLE v (id int PRIMARY KEY);
CREATE TABLE s (id int PRIMARY KEY);
SELECT migration_split.assign_table('k', 'konst');
SELECT migration_split.assign_table('kp', 'konst');
SELECT migration_split.assign_table('p', 'plain');
SELECT migration_split.assign_table('v', 'vol');
SELECT migration_split.assign_table('s', 'ser');
INSERT INTO k VALUES (1, 'a'), (2, 'b');
INSERT INTO kp VALUES (1, 1), (2, 2);
INSERT INTO p VALUES (1, 10), (2, 20);
INSERT INTO v VALUES (1), (2);
INSERT INTO s VALUES (1), (2);
});
for my $d ('konst', 'plain', 'vol', 'ser')
{
	my ($rc, $out, $err) = job('init', $d, '--no-progress');
	is($rc, 0, "init of domain $d");
}

# 1. constant defaults, dropped again in the same transaction (Django),
# with a value that needs quoting, and on a partitioned table
$src->safe_psql('postgres', q{
BEGIN;
ALTER TABLE k ADD COLUMN flag boolean NOT NULL DEFAULT true;
ALTER TABLE k ALTER COLUMN flag DROP DEFAULT;
ALTER TABLE k ADD COLUMN label text DEFAULT E'it''s \\\\ "odd"';
COMMIT;
INSERT INTO k VALUES (3, 'c', false, 'new');
ALTER TABLE kp ADD COLUMN qty numeric(5,1) DEFAULT 1.5;
INSERT INTO kp VALUES (3, 2, 4);
});
my ($rc, $out, $err) = job('stream', 'konst', '--until-caught-up');
is($rc, 0, 'columns added with constant defaults: stream exits 0');
is(table_rows($tgt, 'konst.k'), table_rows($src, 'k'), 'k: the existing rows have the default on the target too');
is(table_rows($tgt, 'konst.kp'), table_rows($src, 'kp'), 'kp: the existing rows of every partition have the default');
is(table_rows($tgt, 'konst.k'), q{(1,a,t,"it's \\\\ ""odd""");(2,b,t,"it's \\\\ ""odd""");(3,c,f,new)},
	'k holds the exact values');
is($tgt->safe_psql('postgres', q{SELECT count(*) FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid
	WHERE c.relname IN ('k', 'kp')}), '0', 'no default left behind on the target');

# 2. a plain column, then a rewrite that gives it no value: applied
$src->safe_psql('postgres', q{
ALTER TABLE p ADD COLUMN note text;
ALTER TABLE p ALTER COLUMN n TYPE bigint;
INSERT INTO p VALUES (3, 30, 'x');
});
($rc, $out, $err) = job('stream', 'plain', '--until-caught-up');
is($rc, 0, 'plain column and a later rewrite: stream exits 0') or diag($err);
is(table_rows($tgt, 'plain.p'), table_rows($src, 'p'), 'p equal');

# 3. a volatile default: the existing rows got values the stream lacks
$src->safe_psql('postgres', q{
INSERT INTO v VALUES (3);
ALTER TABLE v ADD COLUMN r float8 DEFAULT random();
INSERT INTO v VALUES (4);
});
($rc, $out, $err) = job('stream', 'vol', '--until-caught-up');
is($rc, 7, 'column added with a volatile default: exit 7');
like($err, qr/column "r" was added to table "public.v" on the source, and an ALTER TABLE that rewrote the table gave the existing rows values in it \(source commit LSN [0-9A-F\/]+\): those values are not in the stream/,
	'the error names the column and the cause');
like($err, qr/hint: .*volatile default.*init --drop/, 'the hint says what to do');
is(table_rows($tgt, 'vol.v'), '(1);(2);(3)', 'the target holds what came before the ALTER');
is($tgt->safe_psql('postgres', q{SELECT count(*) FROM pg_attribute WHERE attrelid = 'vol.v'::regclass AND attname = 'r'}),
	'0', 'no column added on the target');
($rc, $out, $err) = job('stream', 'vol', '--until-caught-up');
is($rc, 7, 'the next stream stops there again');

# 4. a serial column, in a transaction that changed the table before
$src->safe_psql('postgres', q{
BEGIN;
INSERT INTO s VALUES (3);
ALTER TABLE s ADD COLUMN n serial;
INSERT INTO s VALUES (4);
COMMIT;
});
($rc, $out, $err) = job('stream', 'ser', '--until-caught-up');
is($rc, 7, 'serial column added: exit 7');
like($err, qr/column "n" was added to table "public.s"/, 'the error names the serial column');
is(table_rows($tgt, 'ser.s'), '(1);(2)', 'nothing of that transaction applied');

done_testing();
