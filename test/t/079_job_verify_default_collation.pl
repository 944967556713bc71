# migration-split verify when the two databases sort text differently by
# default (source database in "C", target database with an ICU locale):
# a text key of the default collation is "the same collation" by name, but
# the range bounds sampled in the source's order put rows into other ranges
# on the target, and verify reported rows as missing and extra that are
# equal on both sides.  Key ranges of such columns are now evaluated in
# "C" on both sides.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

$src->safe_psql('postgres',
	"CREATE DATABASE shop TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.utf8'");
$tgt->safe_psql('postgres',
	"CREATE DATABASE svc TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.utf8' LOCALE_PROVIDER icu ICU_LOCALE 'en'");

my $S = $src->connstr('shop');
my $T = $tgt->connstr('svc');
my @common = ('--source', $S, '--target', $T, '--domain', 'shop');

$src->safe_psql('shop', q{
CREATE EXTENSION migration_split;
CREATE TABLE words (w text PRIMARY KEY, v int);
CREATE TABLE pairs (a text, b int, v int, PRIMARY KEY (a, b));
INSERT INTO words SELECT CASE WHEN i % 2 = 0 THEN 'a' ELSE 'B' END || i, i FROM generate_series(1, 5000) i;
INSERT INTO pairs SELECT CASE WHEN i % 2 = 0 THEN 'a' ELSE 'B' END || (i % 1000), i, i FROM generate_series(1, 20000) i;
INSERT INTO migration_split.domains (domain) VALUES ('shop');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('words', 'shop'), ('pairs', 'shop');
ANALYZE;
});
# the two sides order the keys differently
is($src->safe_psql('shop', q{SELECT string_agg(x, ',' ORDER BY x) FROM (VALUES ('a'), ('B')) v(x)}), 'B,a',
	'the source sorts "B" first');
is($tgt->safe_psql('svc', q{SELECT string_agg(x, ',' ORDER BY x) FROM (VALUES ('a'), ('B')) v(x)}), 'a,B',
	'the target sorts "a" first');

ok(run_log([ 'migration-split', 'init', @common, '--no-progress' ]), 'init');

my ($stream, $log) = start_stream($src, @common);

sub verify { return run_verify(\@common, @_); }

my ($ret, $stdout, $stderr) = verify('--chunk-rows', '200');
is($ret, 0, 'equal after init') or diag("$stdout\n$stderr");
like($stdout, qr/^public\.words\s+5000\s+\d+\s+\S+\s+equal$/m, 'words: equal');
like($stdout, qr/^public\.pairs\s+20000\s+\d+\s+\S+\s+equal$/m, 'pairs: equal');

$tgt->safe_psql('svc', q{
UPDATE shop.words SET v = -1 WHERE w = 'a100';
DELETE FROM shop.pairs WHERE a = 'B1' AND b = 1;
});
($ret, $stdout, $stderr) = verify('--chunk-rows', '200');
is($ret, 10, 'differences: exit 10') or diag("$stdout\n$stderr");
like($stdout, qr/^public\.words\s+5000\s+\d+\s+\S+\s+DIFFERENT: 0 missing, 0 extra, 1 changed$/m,
	'words: 1 changed');
like($stdout, qr/^public\.pairs\s+20000\s+\d+\s+\S+\s+DIFFERENT: 1 missing, 0 extra, 0 changed$/m,
	'pairs: 1 missing');

$stream->kill_kill;
done_testing();
