# migration-split stream: a worker keeps a run open per table and kind of
# change while it collects the others (apply.c, run_open: "parked" runs),
# so that a batch whose transactions alternate between tables and kinds
# still goes in few statements.  Pins what makes that safe:
#   - a change of a key that an open run holds sends that run first (an
#     insert after a delete of the same key, a second update of a row, a
#     delete of a row inserted in the batch), with the exact statements
#     that result;
#   - a table with another unique index keeps the source's order of its
#     changes (a row taking the value another row gives up);
#   - a table whose key equality is not that of its text (numeric: 1.0 =
#     1.00) keeps the source's order too (r->key_image).
# Each case is one source transaction applied in one batch, and both sides
# are compared row by row.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

my @common = ('--source', $src->connstr('postgres'), '--target', $tgt->connstr('postgres'),
	'--domain', 'd');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TABLE a (id int PRIMARY KEY, v text);
CREATE TABLE b (id int PRIMARY KEY, v text);
CREATE TABLE u (id int PRIMARY KEY, email text UNIQUE);
CREATE TABLE n (k numeric PRIMARY KEY, v int);
CREATE TABLE nu (k numeric PRIMARY KEY, email text UNIQUE);
INSERT INTO migration_split.domains (domain) VALUES ('d');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('a', 'd'), ('b', 'd'), ('u', 'd'), ('n', 'd'), ('nu', 'd');
INSERT INTO u VALUES (1, 'x@example.com');
INSERT INTO n VALUES (1.0, 1);
INSERT INTO nu VALUES (1, 'x'), (2, 'y');
});

sub rows
{
	my ($node, $schema, $table) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) || ' ' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '-') FROM $schema.$table x");
}

sub same
{
	my ($what) = @_;
	for my $t (qw(a b u n nu))
	{
		is(rows($tgt, 'd', $t), rows($src, 'public', $t), "$what: $t equal on both sides");
	}
}

# stream with -v, one batch: returns (exit code, stderr)
sub stream
{
	my ($stdout, $stderr);
	run_log([ 'migration-split', 'stream', @common, '--until-caught-up', '-v',
			'--batch-time', '600000' ],
		'>', \$stdout, '2>', \$stderr);
	return ($? >> 8, $stderr);
}

# the statements that applied runs, in the order they were sent
sub runs
{
	my ($err) = @_;
	return join("\n", $err =~ /: (\d+ \w+ of table "public\.\w+") in one statement/g);
}

command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');

# 1. Alternating tables and kinds.  The runs: I(b) 0, then a's relation
# message (the first change of a table in a session brings one), which sends
# every open run (I(b) 0 alone, as a per-row statement, which -v does not
# name); I(a) 1..5, I(b) 1..3 (I(a) parked), I(a) 6..8 (back to the parked
# run), U(b) 0..3 (key 1 is in I(b): I(b) is sent first), D(a) 2 (key 2 is
# in I(a): I(a) is sent) and 4, I(a) 2 again (in D(a): D(a) is sent), U(a)
# 1, 3, 5, U(a) 3 again (in U(a): sent); the batch's end sends the rest.
$src->safe_psql('postgres', q{
BEGIN;
INSERT INTO b VALUES (0, 'b0');
INSERT INTO a SELECT i, 'a' || i FROM generate_series(1, 5) i;
INSERT INTO b SELECT i, 'b' || i FROM generate_series(1, 3) i;
INSERT INTO a SELECT i, 'a' || i FROM generate_series(6, 8) i;
UPDATE b SET v = 'B' || id;
DELETE FROM a WHERE id IN (2, 4);
INSERT INTO a VALUES (2, 'again');
UPDATE a SET v = 'x' || id WHERE id IN (1, 3, 5);
UPDATE a SET v = 'y' WHERE id = 3;
COMMIT;
});
my ($code, $err) = stream();
is($code, 0, 'stream: alternating tables and kinds') or diag($err);
is(runs($err), join("\n",
		'3 inserts of table "public.b"',
		'8 inserts of table "public.a"',
		'2 deletes of table "public.a"',
		'3 updates of table "public.a"',
		'4 updates of table "public.b"'),
	'runs sent when a change needs them, the rest at the end of the batch');
like($err, qr/committed 1 source transaction, 23 changes/, 'one batch');
same('alternating tables and kinds');
is($tgt->safe_psql('postgres', 'SELECT string_agg(id || v, \',\' ORDER BY id) FROM d.a'),
	'1x1,2again,3y,5x5,6a6,7a7,8a8', 'the rows of a as on the source');

# 2. Another unique index: a row takes the email another row gives up.
# Were u's delete kept open while b's inserts come, u's insert, open last,
# would be sent first at the batch's end.
$src->safe_psql('postgres', q{
BEGIN;
INSERT INTO b VALUES (100, 'z');
DELETE FROM u WHERE id = 1;
INSERT INTO b VALUES (101, 'z'), (102, 'z');
INSERT INTO u VALUES (2, 'x@example.com');
COMMIT;
});
($code, $err) = stream();
is($code, 0, 'stream: a value of another unique index changes hands') or diag($err);
is(runs($err), '2 inserts of table "public.b"', "b's inserts after u's relation message in one run, u's changes in order");
same('another unique index');

# 3. A key whose equality is not its text's: numeric 1.0 = 1.00.  The
# delete of 1.0 must come before the insert of 1.00, though the hashes of
# their text differ: were n's delete kept open, the insert, open last, would
# be sent first at the batch's end.
$src->safe_psql('postgres', q{
BEGIN;
INSERT INTO b VALUES (200, 'z');
DELETE FROM n WHERE k = 1.0;
INSERT INTO b VALUES (201, 'z'), (202, 'z');
INSERT INTO n VALUES (1.00, 2);
COMMIT;
});
($code, $err) = stream();
is($code, 0, 'stream: a numeric key deleted and inserted with other text') or diag($err);
is(runs($err), '2 inserts of table "public.b"', "b's inserts after n's relation message in one run, n's changes in order");
same('numeric key');
is($tgt->safe_psql('postgres', 'SELECT k::text || v FROM d.n'), '1.002', 'n holds the new row');

# 4. An update that finds no row in a run that waited: the job stops with
# the row's own message, and nothing of the batch is applied.
$tgt->safe_psql('postgres', 'DELETE FROM d.a WHERE id = 7');
$src->safe_psql('postgres', q{
BEGIN;
UPDATE a SET v = 'w' WHERE id IN (6, 7, 8);
INSERT INTO b VALUES (300, 'z'), (301, 'z');
UPDATE a SET v = 'w' WHERE id = 1;
COMMIT;
});
($code, $err) = stream();
is($code, 7, 'a row missing on the target: exit code 7');
like($err, qr/could not apply UPDATE on table "public\.a" \(source commit LSN [0-9A-F\/]+, xid \d+\): 0 rows match the old key on the target/,
	'the missing row is reported with the per-row message');
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM d.b WHERE id >= 300'), '0',
	'nothing of the batch applied');

# 5. A numeric key and another unique index: the updates stay one by one
# (r->other_unique is known for a table whose key lacks image equality
# too); as one UPDATE ... FROM in key order, row 1 would take 'y' while row
# 2 still has it.
$tgt->safe_psql('postgres', 'INSERT INTO d.a VALUES (7, \'w\')');
$src->safe_psql('postgres', 'DELETE FROM a WHERE id IN (1, 6, 7, 8)');
($code, $err) = stream();
is($code, 0, 'stream after the missing row was restored') or diag($err);
$src->safe_psql('postgres', q{
BEGIN;
UPDATE nu SET email = 'z' WHERE k = 2;
UPDATE nu SET email = 'y' WHERE k = 1;
COMMIT;
});
($code, $err) = stream();
is($code, 0, 'stream: an email changes hands in a table with a numeric key') or diag($err);
is(runs($err), '', 'no run of updates');
same('numeric key and another unique index');

done_testing();
