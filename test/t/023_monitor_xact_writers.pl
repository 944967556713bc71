# cross_domain_transactions names the statements that wrote to each domain
# (query ids, users, normalized texts) whatever compute_query_id says, with
# migration_split preloaded alone (no module asks for query ids).  Texts
# follow the rule of cross_domain_queries: the user who ran the statement
# and members of pg_read_all_stats see them.  They survive a restart.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('xact_writers');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'migration_split'\n");
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
INSERT INTO migration_split.domains (domain) VALUES ('a'), ('b');
CREATE TABLE ta (id int, note text);
CREATE TABLE tb (id int);
INSERT INTO migration_split.ownership VALUES ('ta', 'a'), ('tb', 'b');
CREATE ROLE writer LOGIN;
CREATE ROLE reader LOGIN;
GRANT ALL ON ta, tb TO writer;
});

my $query = q{
SELECT domains, count, cardinality(sample_queryids),
	   (SELECT bool_and(q <> 0) FROM unnest(sample_queryids) q),
	   array_to_string(sample_queries, ' ; ', 'NULL'),
	   (SELECT string_agg(u::regrole::text, ',') FROM unnest(sample_userids) u)
  FROM migration_split.cross_domain_transactions};

for my $mode ('auto', 'off', 'on')
{
	$node->safe_psql('postgres', "SELECT migration_split.reset()");
	$node->safe_psql('postgres', qq{
SET compute_query_id = $mode;
SET ROLE writer;
BEGIN;
INSERT INTO ta VALUES (1, 'secret');
INSERT INTO ta VALUES (2, 'other');
UPDATE ta SET note = 'again' WHERE id = 2;
UPDATE tb SET id = 42 WHERE id = 7;
COMMIT;
BEGIN;
INSERT INTO ta VALUES (3, 'third');
UPDATE tb SET id = 43 WHERE id = 8;
COMMIT;
});
	is($node->safe_psql('postgres', $query),
		'{a,b}|2|2|t|INSERT INTO ta VALUES ($1, $2) ; UPDATE tb SET id = $1 WHERE id = $2|writer,writer',
		"compute_query_id = $mode: both writers named (not the statement writing a domain again), texts normalized, counted once");
}

# a statement seen before by the backend takes its id from a template of
# its text (no jumble, so its constants are found by the scanner): same
# ids, same normalized texts; a text that differs from the template beyond
# its constants (a bigint constant, one more condition) is jumbled: another
# statement
my $ids = $node->safe_psql('postgres',
	'SELECT sample_queryids FROM migration_split.cross_domain_transactions');
$node->safe_psql('postgres', q{
SET ROLE writer;
BEGIN; INSERT INTO ta VALUES (10, 'a'); UPDATE tb SET id = 1 WHERE id = 2; COMMIT;
RESET ROLE;
SELECT migration_split.reset();
SET ROLE writer;
BEGIN; INSERT INTO ta VALUES (11, 'it''s'); UPDATE tb SET id = 3 WHERE id = 12345678901; COMMIT;
BEGIN; INSERT INTO ta VALUES (12, 'b'); UPDATE tb SET id = 4 WHERE id = 5; COMMIT;
BEGIN; INSERT INTO ta VALUES (13, 'c'); UPDATE tb SET id = 4 WHERE id = 5 OR id = 6; COMMIT;
});
is($node->safe_psql('postgres', $query),
	'{a,b}|3|4|t|INSERT INTO ta VALUES ($1, $2) ; UPDATE tb SET id = $1 WHERE id = $2 ; UPDATE tb SET id = $1 WHERE id = $2 ; UPDATE tb SET id = $1 WHERE id = $2 OR id = $3|writer,writer,writer,writer',
	'cached ids: texts normalized by the scanner; a bigint constant, or one more condition, is another statement');
is($node->safe_psql('postgres',
	q{SELECT format('{%s,%s}', sample_queryids[1], sample_queryids[3])
		FROM migration_split.cross_domain_transactions}),
	$ids, 'cached ids are the jumbled ids');

# other users see who wrote, not the ids nor the texts (pg_stat_statements'
# rule, as in cross_domain_queries)
is($node->safe_psql('postgres', "SET ROLE reader; $query"),
	'{a,b}|3|4||NULL ; NULL ; NULL ; NULL|writer,writer,writer,writer', 'ids and texts hidden from other users');
is($node->safe_psql('postgres',
	"SET ROLE reader; SELECT array_to_string(sample_queryids, ',', 'NULL') FROM migration_split.cross_domain_transactions"),
	'NULL,NULL,NULL,NULL', 'each hidden id is NULL');
$node->safe_psql('postgres', 'GRANT pg_read_all_stats TO reader');
like($node->safe_psql('postgres', "SET ROLE reader; $query"),
	qr/\|INSERT INTO ta VALUES \(\$1, \$2\) ; UPDATE/, 'pg_read_all_stats sees the texts');

# a rolled-back subtransaction's writer is forgotten with its domain
$node->safe_psql('postgres', q{
SELECT migration_split.reset();
BEGIN;
INSERT INTO ta VALUES (5, 'x');
SAVEPOINT s;
UPDATE tb SET id = 1;
ROLLBACK TO SAVEPOINT s;
DELETE FROM tb WHERE id < 0;
COMMIT;
});
like($node->safe_psql('postgres', $query),
	qr/^\{a,b\}\|1\|2\|t\|INSERT INTO ta VALUES \(\$1, \$2\) ; DELETE FROM tb WHERE id < \$1\|/,
	'the writer of an aborted subtransaction is not named');

# a single-domain transaction counts nothing
$node->safe_psql('postgres', q{
SELECT migration_split.reset();
BEGIN; INSERT INTO ta VALUES (6, 'y'); UPDATE ta SET note = 'z'; COMMIT;
});
is($node->safe_psql('postgres', 'SELECT count(*) FROM migration_split.cross_domain_transactions'),
	'0', 'one domain: no entry');

# a writer whose id came from a template refers to its text there; when the
# templates go before commit (a relcache invalidation of an owned table moves
# the ownership generation, and the next writer is jumbled), it keeps a copy
$node->safe_psql('postgres', q{
BEGIN; INSERT INTO ta VALUES (20, 'x'); UPDATE tb SET id = 1 WHERE id = 2; COMMIT;
SELECT migration_split.reset();
BEGIN;
INSERT INTO ta VALUES (21, 'y');
CREATE INDEX ta_id ON ta (id);
UPDATE tb SET id = 3 WHERE id = 4;
COMMIT;
BEGIN; INSERT INTO ta VALUES (22, 'it''s'); UPDATE tb SET id = 5 WHERE id = 6; COMMIT;
});
is($node->safe_psql('postgres', $query),
	'{a,b}|2|2|t|INSERT INTO ta VALUES ($1, $2) ; UPDATE tb SET id = $1 WHERE id = $2|postgres,postgres',
	'texts of template writers intact when the templates go before commit');
$node->safe_psql('postgres', 'DROP INDEX ta_id; SELECT migration_split.reset()');

# the samples survive a restart (stats file)
$node->safe_psql('postgres', q{
BEGIN; INSERT INTO ta VALUES (7, 'y'); UPDATE tb SET id = 3 WHERE id = 4; COMMIT;
});
$node->restart;
is($node->safe_psql('postgres', $query),
	'{a,b}|1|2|t|INSERT INTO ta VALUES ($1, $2) ; UPDATE tb SET id = $1 WHERE id = $2|postgres,postgres',
	'samples kept across a restart');

$node->stop;
done_testing();
