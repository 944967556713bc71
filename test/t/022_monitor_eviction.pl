# Concurrency and bounded memory: many clients updating one entry give exact
# counts; more distinct cross-domain statements than migration_split.max
# evict the least-used entries in batches and count the evictions.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('monitor_eviction');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'migration_split'
migration_split.max = 20
migration_split.track = all
max_connections = 20
});
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
INSERT INTO migration_split.domains (domain) VALUES ('a'), ('b');
CREATE TABLE ta (id int PRIMARY KEY, v int);
CREATE TABLE tb (id int PRIMARY KEY, v int);
INSERT INTO migration_split.ownership VALUES ('ta', 'a'), ('tb', 'b');
INSERT INTO ta SELECT g, 0 FROM generate_series(1, 10) g;
INSERT INTO tb SELECT g, 0 FROM generate_series(1, 10) g;
-- statement number n: a structurally different query for every n
CREATE FUNCTION distinct_crossing(n int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE r bigint;
BEGIN
	EXECUTE 'SELECT count(*) FROM ta JOIN tb USING (id) WHERE true'
		|| repeat(' AND ta.v >= 0', n) INTO r;
	RETURN r;
END $$;
SELECT migration_split.reset();
});

# 1. one entry, many clients: exact counts, and every transaction counted
$node->pgbench(
	'--no-vacuum --client=5 --transactions=100',
	0,
	[qr{processed: 500/500}],
	[qr{^$}],
	'concurrent updates of one entry',
	{
		'001_one_entry' => q{
\set id random(1, 10)
BEGIN;
SELECT count(*) FROM ta JOIN tb USING (id) WHERE ta.id = :id;
UPDATE ta SET v = v + 1 WHERE id = :id;
UPDATE tb SET v = v + 1 WHERE id = :id;
COMMIT;
}
	});
is($node->safe_psql('postgres',
		q{SELECT calls FROM migration_split.cross_domain_queries WHERE query LIKE 'SELECT count(*) FROM ta JOIN tb USING (id) WHERE ta.id = $1'}),
	'500', 'calls counted exactly under concurrency');
is($node->safe_psql('postgres', 'SELECT domains, count FROM migration_split.cross_domain_transactions'),
	'{a,b}|500', 'cross-domain transactions counted exactly');

# 2. more distinct statements than max, from several clients at once
$node->safe_psql('postgres', 'SELECT migration_split.reset()');
$node->pgbench(
	'--no-vacuum --client=4 --transactions=100',
	0,
	[qr{processed: 400/400}],
	[qr{^$}],
	'many distinct statements',
	{
		'002_distinct' => q{
\set n random(1, 80)
SELECT distinct_crossing(:n);
}
	});
my ($statements, $evictions, $max) = split /\|/, $node->safe_psql('postgres',
	'SELECT statements, evictions, max FROM migration_split.monitor_info');
cmp_ok($statements, '<=', 20, 'never more entries than migration_split.max');
cmp_ok($statements, '>', 0, 'entries remain after evictions');
cmp_ok($evictions, '>=', 10, 'evictions counted in batches');
is($max, 20, 'monitor_info shows max');

# a frequently used statement survives eviction of rarely used ones
$node->safe_psql('postgres', 'SELECT migration_split.reset()');
$node->safe_psql('postgres', 'SELECT distinct_crossing(1) FROM generate_series(1, 50)');
$node->safe_psql('postgres', 'SELECT distinct_crossing(n) FROM generate_series(2, 60) n');
is($node->safe_psql('postgres',
		q{SELECT calls FROM migration_split.cross_domain_queries WHERE query LIKE '%WHERE $1 AND ta.v >= $2'}),
	'50', 'the most used entry is kept');

$node->stop;
done_testing();
