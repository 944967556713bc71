# A partitioned table of the domain whose partitions have replica
# identities of their own: one keyed by a unique index on another column,
# one FULL, one like the root.  Updates (including one of the partition's
# key) and deletes in each must reach the target, which holds the root as
# one table; before 1.1 the old key was built from the root's identity and
# the job stopped with "0 rows match".
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

my @common = ('--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'pid');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TABLE pr (id int, region text, code text NOT NULL, v int,
	PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE pr_same PARTITION OF pr FOR VALUES IN ('a');
CREATE TABLE pr_index PARTITION OF pr FOR VALUES IN ('b');
CREATE UNIQUE INDEX pr_index_code ON pr_index (code);
ALTER TABLE pr_index REPLICA IDENTITY USING INDEX pr_index_code;
CREATE TABLE pr_full PARTITION OF pr FOR VALUES IN ('c');
ALTER TABLE pr_full REPLICA IDENTITY FULL;
INSERT INTO migration_split.domains (domain) VALUES ('pid');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('pr', 'pid');
INSERT INTO pr SELECT i, r, r || i, 0 FROM generate_series(1, 30) i, unnest('{a,b,c}'::text[]) r;
});

command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');

$src->safe_psql('postgres', q{
UPDATE pr SET v = v + 1 WHERE id <= 10;
UPDATE pr SET code = code || 'x' WHERE id BETWEEN 5 AND 15;
UPDATE pr SET id = id + 100 WHERE id BETWEEN 16 AND 18;
DELETE FROM pr WHERE id BETWEEN 20 AND 25;
INSERT INTO pr VALUES (50, 'b', 'b50', 5);
});

my ($out, $err) = ('', '');
IPC::Run::run([ 'migration-split', 'stream', @common, '--until-caught-up' ], '>', \$out, '2>', \$err);
is($?, 0, 'stream applies the changes of every partition') or diag($err);

my $digest = q{SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY region, id)) FROM %s t};
is($tgt->safe_psql('postgres', sprintf($digest, 'pid.pr')),
	$src->safe_psql('postgres', sprintf($digest, 'public.pr')),
	'target equals source row for row');

# a partition with no usable identity is refused at init, named
$src->safe_psql('postgres', q{
CREATE TABLE pn (id int PRIMARY KEY, v int) PARTITION BY RANGE (id);
CREATE TABLE pn_low PARTITION OF pn FOR VALUES FROM (0) TO (100);
CREATE TABLE pn_high PARTITION OF pn FOR VALUES FROM (100) TO (200);
ALTER TABLE pn_high REPLICA IDENTITY NOTHING;
INSERT INTO migration_split.domains (domain) VALUES ('pnone');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('pn', 'pnone');
});
IPC::Run::run([ 'migration-split', 'init', '--source', $src->connstr('postgres'), '--target',
		$tgt->connstr('postgres'), '--domain', 'pnone', '--no-progress' ], '>', \$out, '2>', \$err);
is($? >> 8, 3, 'init refuses a partition without replica identity (exit 3)');
like($err, qr/table without primary key or replica identity in domain "pnone": partition public\.pn_high of public\.pn/,
	'the message names the partition and its table');
is($tgt->safe_psql('postgres', q{SELECT to_regnamespace('pnone') IS NULL}), 't', 'nothing was created');

done_testing();
