# migration-split stream with large transactions that the source streams
# while they run (logical_decoding_work_mem = 64kB): savepoints rolled back
# after their changes were streamed, a subtransaction committed into one
# that is rolled back later, and a whole streamed transaction rolled back.
# The target must hold exactly the committed rows, and the source must
# really have streamed (else the test proves nothing).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) =
  source_and_target(source_conf => "logical_decoding_work_mem = 64kB\n");

my @common = ('--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'big');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TABLE big_t (id int PRIMARY KEY, pad text, n int);
CREATE TABLE big_u (id int PRIMARY KEY, v text);
INSERT INTO migration_split.domains (domain) VALUES ('big');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('big_t', 'big'), ('big_u', 'big');
INSERT INTO big_t SELECT i, 'seed', 0 FROM generate_series(1, 100) i;
});

command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');

$src->safe_psql('postgres', q{
BEGIN;
INSERT INTO big_t SELECT i, repeat('t', 200), 1 FROM generate_series(1001, 3000) i;
SAVEPOINT a;
INSERT INTO big_t SELECT i, repeat('a', 200), 2 FROM generate_series(10001, 12000) i;
UPDATE big_t SET n = -1 WHERE id <= 100;
ROLLBACK TO SAVEPOINT a;
SAVEPOINT b;
INSERT INTO big_u SELECT i, repeat('b', 200) FROM generate_series(1, 1000) i;
SAVEPOINT c;
INSERT INTO big_t SELECT i, repeat('c', 200), 3 FROM generate_series(30001, 31000) i;
RELEASE SAVEPOINT c;
DELETE FROM big_t WHERE id BETWEEN 1001 AND 1500;
ROLLBACK TO SAVEPOINT b;
UPDATE big_t SET n = n + 10 WHERE id BETWEEN 2001 AND 2500;
DELETE FROM big_t WHERE id BETWEEN 2901 AND 3000;
SAVEPOINT d;
UPDATE big_t SET pad = repeat('d', 300) WHERE id <= 2000;
ROLLBACK TO SAVEPOINT d;
INSERT INTO big_u SELECT i, 'kept' FROM generate_series(5001, 5100) i;
COMMIT;
-- between the two: a small transaction
INSERT INTO big_t VALUES (500, 'small', 5);
BEGIN;
INSERT INTO big_t SELECT i, repeat('x', 200), 9 FROM generate_series(50001, 53000) i;
ROLLBACK;
});

command_ok([ 'migration-split', 'stream', @common, '--until-caught-up' ],
	'stream applies the streamed transactions');

cmp_ok($src->safe_psql('postgres',
		q{SELECT stream_txns FROM pg_stat_replication_slots WHERE slot_name = 'migration_split_big'}),
	'>=', 2, 'the source streamed both large transactions to the job');

my $digest = q{SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY id)), '') FROM %s t};
is($tgt->safe_psql('postgres', sprintf($digest, 'big.big_t')),
	$src->safe_psql('postgres', sprintf($digest, 'public.big_t')),
	'big_t: target equals source row for row');
is($tgt->safe_psql('postgres', sprintf($digest, 'big.big_u')),
	$src->safe_psql('postgres', sprintf($digest, 'public.big_u')),
	'big_u: target equals source row for row');
is($tgt->safe_psql('postgres',
		q{SELECT count(*) FILTER (WHERE n IN (2, 3, 9) OR n < 0 OR pad LIKE 'd%') FROM big.big_t}),
	'0', 'no row of a rolled-back subtransaction reached the target');
is($tgt->safe_psql('postgres', q{SELECT count(*), min(id) FROM big.big_u}), '100|5001',
	'the rows of a subtransaction released into a rolled-back one are gone');

done_testing();
