# migration-split verify and collations that are not in pg_catalog.
# 1. Values that are equal under a non-deterministic collation but differ
#    (letter case) must be reported as changed.  A column of a domain over
#    text, or an array of text, with such a collation was hashed from its
#    text under that collation, which hashes 'abc' and 'ABC' alike: verify
#    said "equal".
# 2. A table keyed by one text column with a collation of the domain's
#    schema, large enough for range bounds: the target's query named the
#    source's schema of the collation (init creates it in the target
#    schema), and verify failed with exit 8.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

my $S = $src->connstr('postgres');
my $T = $tgt->connstr('postgres');
my @common = ('--source', $S, '--target', $T, '--domain', 'shop');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE DOMAIN ci_text AS text COLLATE ci;
CREATE TABLE people (id int PRIMARY KEY, name ci_text, tags text[] COLLATE ci, plain text COLLATE ci);
CREATE TABLE codes (code text COLLATE ci PRIMARY KEY, v int);
INSERT INTO people SELECT i, 'Name' || i, ARRAY['Tag' || i], 'Plain' || i FROM generate_series(1, 100) i;
INSERT INTO codes SELECT 'Code' || i, i FROM generate_series(1, 5000) i;
INSERT INTO migration_split.domains (domain) VALUES ('shop');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('people', 'shop'), ('codes', 'shop');
ANALYZE;
});

ok(run_log([ 'migration-split', 'init', @common, '--no-progress' ]), 'init');

my ($stream, $log) = start_stream($src, @common);

sub verify { return run_verify(\@common, @_); }

my ($ret, $stdout, $stderr) = verify('--chunk-rows', '500');
is($ret, 0, 'equal after init') or diag("$stdout\n$stderr");
like($stdout, qr/^public\.codes\s+5000\s+\d+\s+\S+\s+equal$/m, 'codes: equal');

# letter case only: equal under the collation, not the same values
$tgt->safe_psql('postgres', q{
UPDATE shop.people SET name = 'NAME1' WHERE id = 1;
UPDATE shop.people SET tags = ARRAY['TAG2'] WHERE id = 2;
UPDATE shop.people SET plain = 'PLAIN3' WHERE id = 3;
UPDATE shop.codes SET code = 'CODE4' WHERE v = 4;
});
($ret, $stdout, $stderr) = verify('--table', 'people');
is($ret, 10, 'people alone: exit 10') or diag("$stdout\n$stderr");
like($stdout, qr/^public\.people\s+100\s+\d+\s+\S+\s+DIFFERENT: 0 missing, 0 extra, 3 changed$/m,
	'people alone: 3 changed');

($ret, $stdout, $stderr) = verify('--chunk-rows', '500');
is($ret, 10, 'a change of letter case is a difference: exit 10') or diag("$stdout\n$stderr");
like($stdout, qr/^public\.people\s+100\s+\d+\s+\S+\s+DIFFERENT: 0 missing, 0 extra, 3 changed$/m,
	'people: 3 changed');
like($stdout, qr/^    changed: \(id\)=\(1\): columns name$/m, 'the domain column');
like($stdout, qr/^    changed: \(id\)=\(2\): columns tags$/m, 'the array column');
like($stdout, qr/^    changed: \(id\)=\(3\): columns plain$/m, 'the text column');
like($stdout, qr/^public\.codes\s+5000\s+\d+\s+\S+\s+DIFFERENT: 1 missing, 1 extra, 0 changed$/m, 'codes: the key differs in case');

$stream->kill_kill;
done_testing();
