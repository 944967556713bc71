# How the job finds the target row of an UPDATE or DELETE, by the kinds of
# replica identity a production schema has.
#
# REPLICA IDENTITY FULL (a table without a key): the row must be the one
# holding exactly the source's old values.  Before the fix the job matched
# with the types' equality (IS NOT DISTINCT FROM) and changed whichever
# equal row came first: with rows 1.0 and 1.00 (numeric), 0 and -0 (float)
# or 'Bob' and 'bob' (citext) the target silently ended up with the other
# row; and columns of types without an equality operator (json, xml, point)
# stopped the job with "operator does not exist: json = unknown".
#
# A primary key whose column is an array: a run of deletes (one DELETE ...
# = ANY (array)) failed with "operator does not exist: integer[] = integer".
#
# A DEFERRABLE primary key is no replica identity (PostgreSQL logs updates
# and deletes of such a table without a key): init accepted the table and
# the stream stopped at its first update; init must refuse it, naming it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

my @common = ('--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'ledger');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE EXTENSION citext;
CREATE TABLE entry (amount numeric, who citext, f float8, note text);
ALTER TABLE entry REPLICA IDENTITY FULL;
CREATE TABLE doc (id int, body json, x xml, p point, note text);
ALTER TABLE doc REPLICA IDENTITY FULL;
CREATE TABLE tagset (tags int[] PRIMARY KEY, v int);
INSERT INTO migration_split.domains (domain) VALUES ('ledger');
INSERT INTO migration_split.ownership (rel, domain)
	VALUES ('entry', 'ledger'), ('doc', 'ledger'), ('tagset', 'ledger');
-- pairs of rows equal by their types' equality, different in their values
INSERT INTO entry VALUES
	(1.0, 'x', 0, 'scale'), (1.00, 'x', 0, 'scale'),
	(2, 'Bob', 0, 'case'), (2, 'bob', 0, 'case'),
	(3, 'z', 0, 'zero'), (3, 'z', '-0', 'zero'),
	(5, NULL, NULL, ''), (5, NULL, NULL, NULL);
INSERT INTO doc VALUES
	(1, '{"a": 1}', '<a/>', '(1,2)', 'spaced'), (1, '{"a":1}', '<a/>', '(1,2)', 'compact'),
	(2, '[]', '<b/>', '(0,0)', 'x'), (3, '[]', '<b/>', '(0,-0)', 'x');
INSERT INTO tagset SELECT ARRAY[i, i + 1], i FROM generate_series(1, 10) i;
});

command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');

# rows as text under identical settings, in a fixed order
my $rows = q{SET extra_float_digits = 3;
	SELECT count(*) || E'\n' || string_agg(t::text, E'\n' ORDER BY t::text COLLATE "C") FROM %s t};

sub same_rows
{
	my ($t, $what) = @_;
	is($tgt->safe_psql('postgres', sprintf($rows, "ledger.$t")),
		$src->safe_psql('postgres', sprintf($rows, "public.$t")),
		"$t: the target holds exactly the source's rows ($what)");
}

# each change names one row of a pair by a value its twin only equals
$src->safe_psql('postgres', q{
DELETE FROM entry WHERE amount::text = '1.00';
UPDATE entry SET note = 'bob changed' WHERE who::text = 'bob';
DELETE FROM entry WHERE f::text = '-0';
DELETE FROM entry WHERE amount = 5 AND note IS NULL;
});
my ($out, $err) = ('', '');
IPC::Run::run([ 'migration-split', 'stream', @common, '--until-caught-up' ], '>', \$out, '2>', \$err);
is($?, 0, 'stream applies the changes of rows with equal twins') or diag($err);
same_rows('entry', 'no twin changed in its place');
is($tgt->safe_psql('postgres',
	"SELECT amount::text || ' ' || f::text FROM ledger.entry WHERE note = 'zero'"),
	'3 0', 'the row with -0 was deleted, not its twin with 0');

# columns of types without an equality operator; a key that is an array
$src->safe_psql('postgres', q{
UPDATE doc SET note = 'compact changed' WHERE note = 'compact';
DELETE FROM doc WHERE p::text = '(0,-0)';
DELETE FROM tagset WHERE v IN (1, 2, 3);
DELETE FROM tagset WHERE v = 4;
UPDATE tagset SET v = -v WHERE v IN (5, 6);
UPDATE tagset SET tags = '{100,101}' WHERE v = 7;
});
IPC::Run::run([ 'migration-split', 'stream', @common, '--until-caught-up' ], '>', \$out, '2>', \$err);
is($?, 0, 'stream applies changes of json, xml and point rows, and deletes by an array key') or diag($err);
same_rows('doc', 'json, xml, point compared by their text');
same_rows('tagset', 'a run of deletes by an array key');

# a DEFERRABLE primary key is refused at init, before anything is created
$src->safe_psql('postgres', q{
CREATE TABLE seat (id int PRIMARY KEY DEFERRABLE, v int);
CREATE TABLE stop (id int PRIMARY KEY, v int);
INSERT INTO migration_split.domains (domain) VALUES ('seats');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('seat', 'seats'), ('stop', 'seats');
});
IPC::Run::run([ 'migration-split', 'init', '--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'seats', '--no-progress' ], '>', \$out, '2>', \$err);
is($? >> 8, 3, 'init refuses a table whose only key is DEFERRABLE (exit 3)');
like($err, qr/table without primary key or replica identity in domain "seats": public\.seat\n/,
	'the message names the table with the deferrable key, and only it');
like($err, qr/detail: .*A DEFERRABLE primary key, or one whose index is not valid, is no replica identity\./,
	'the detail says why the key does not count');
is($tgt->safe_psql('postgres', "SELECT count(*) FROM pg_namespace WHERE nspname = 'seats'"), '0',
	'nothing was created on the target');
is($src->safe_psql('postgres', "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'migration_split_seats'"),
	'0', 'no slot was created on the source');

done_testing();
