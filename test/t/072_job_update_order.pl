# A transaction's updates must reach the target in the source's order when
# the order matters: a table with a unique constraint besides its key, where
# one row takes a value that another row gave up earlier in the same
# transaction.  Before the fix such updates were sent as one UPDATE ... FROM
# (a run of updates), which the target applies in the order of its plan:
# with the table's statistics from init (one row) the planner scans the
# table by its key, and the stream stopped with "duplicate key value
# violates unique constraint", every time it was run again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

my @common = ('--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'seats');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TABLE seat (id int PRIMARY KEY, pos int UNIQUE, v text);
CREATE TABLE booking (id int PRIMARY KEY, during int4range, v text,
	EXCLUDE USING gist (during WITH &&));
INSERT INTO migration_split.domains (domain) VALUES ('seats');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('seat', 'seats'), ('booking', 'seats');
INSERT INTO seat VALUES (1, 1, 'v');
INSERT INTO booking VALUES (1, '[0,10)', 'v');
});

# init analyzes the tables: one row each
command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');

$src->safe_psql('postgres', q{
INSERT INTO seat VALUES (2, 2, 'v'), (3, 3, 'v'), (4, 4, 'v');
INSERT INTO booking VALUES (2, '[10,20)', 'v'), (3, '[20,30)', 'v');
-- seat 4 gives up position 4, seat 3 takes it, and so on down
BEGIN;
UPDATE seat SET pos = 100 WHERE id = 4;
UPDATE seat SET pos = 4 WHERE id = 3;
UPDATE seat SET pos = 3 WHERE id = 2;
UPDATE seat SET pos = 2 WHERE id = 1;
UPDATE seat SET pos = 1 WHERE id = 4;
COMMIT;
-- booking 3 moves away, booking 2 takes its time
BEGIN;
UPDATE booking SET during = '[100,110)' WHERE id = 3;
UPDATE booking SET during = '[20,30)' WHERE id = 2;
COMMIT;
});

my ($out, $err) = ('', '');
IPC::Run::run([ 'migration-split', 'stream', @common, '--until-caught-up' ], '>', \$out, '2>', \$err);
is($?, 0, 'updates that hand values from row to row are applied') or diag($err);
for my $t ('seat', 'booking')
{
	my $rows = "SELECT string_agg(t::text, ',' ORDER BY id) FROM %s.$t t";
	is($tgt->safe_psql('postgres', sprintf($rows, 'seats')),
		$src->safe_psql('postgres', sprintf($rows, 'public')), "$t equal on both sides");
}

done_testing();
