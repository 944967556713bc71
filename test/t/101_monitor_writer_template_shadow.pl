# The query id a writing statement takes from a backend-local template of
# its text (migration_split preloaded alone, compute_query_id = auto: see
# MsTemplate in monitor_track.c) is the id of the statement that runs: a
# table created since in a schema earlier on the search_path, which the
# same text now names, makes the statement another one with another id,
# although no relation the monitor had cached changed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('writer_template_shadow');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'migration_split'\n");
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
INSERT INTO migration_split.domains (domain) VALUES ('a'), ('b');
CREATE SCHEMA s;
CREATE TABLE public.t (id int);
CREATE TABLE u (id int);
INSERT INTO migration_split.ownership VALUES ('public.t', 'a'), ('u', 'b');
});

# one session: the templates are the backend's
my $out = $node->safe_psql('postgres', q{
SET search_path = s, public;
BEGIN; INSERT INTO t VALUES (1); INSERT INTO u VALUES (1); COMMIT;
CREATE TABLE s.t (id int);
INSERT INTO migration_split.ownership VALUES ('s.t', 'a');
BEGIN; INSERT INTO t VALUES (2); INSERT INTO u VALUES (2); COMMIT;
SET compute_query_id = on;
EXPLAIN (VERBOSE, COSTS OFF) INSERT INTO s.t VALUES (3);
EXPLAIN (VERBOSE, COSTS OFF) INSERT INTO public.t VALUES (3);
});
my @ids = ($out =~ /Query Identifier: (-?\d+)/g);
is(scalar(@ids), 2, 'query ids of the two INSERTs from EXPLAIN');
isnt($ids[0], $ids[1], 'the two INSERTs have different query ids');

is($node->safe_psql('postgres', q{
SELECT array_to_string(ARRAY(SELECT q FROM unnest(sample_queryids) q ORDER BY q), ',')
  FROM migration_split.cross_domain_transactions}),
	join(',', sort { $a <=> $b } ($ids[0], $ids[1],
		$node->safe_psql('postgres', q{SET compute_query_id = on;
EXPLAIN (VERBOSE, COSTS OFF) INSERT INTO u VALUES (3)}) =~ /Query Identifier: (-?\d+)/)),
	'the writers of the shadowed and the shadowing table are named by their own ids');

$node->stop;
done_testing();
