# migration-split verify of a table keyed by one column of a built-in array
# type: the range bounds were written as elements of one array literal of
# the key's type ('{"{1,2}", ...}'::integer[]), which does not parse, and
# verify failed with exit 8 as soon as the table had range bounds.
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
CREATE TABLE paths (path int[] PRIMARY KEY, v int);
CREATE TABLE spans (span int4range PRIMARY KEY, v int);
INSERT INTO paths SELECT ARRAY[i / 100, i % 100], i FROM generate_series(1, 5000) i;
INSERT INTO spans SELECT int4range(i, i + 1), i FROM generate_series(1, 5000) i;
INSERT INTO migration_split.domains (domain) VALUES ('shop');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('paths', 'shop'), ('spans', 'shop');
ANALYZE;
});

ok(run_log([ 'migration-split', 'init', @common, '--no-progress' ]), 'init');

my ($stream, $log) = start_stream($src, @common);

sub verify { return run_verify(\@common, @_); }

my ($ret, $stdout, $stderr) = verify('--chunk-rows', '500');
is($ret, 0, 'equal after init') or diag("$stdout\n$stderr");
like($stdout, qr/^public\.paths\s+5000\s+\d+\s+\S+\s+equal$/m, 'paths: equal');
like($stdout, qr/^public\.spans\s+5000\s+\d+\s+\S+\s+equal$/m, 'spans: equal');

$tgt->safe_psql('postgres', q{
UPDATE shop.paths SET v = -1 WHERE path = '{20,7}';
DELETE FROM shop.spans WHERE span = int4range(4000, 4001);
});
($ret, $stdout, $stderr) = verify('--chunk-rows', '500');
is($ret, 10, 'differences: exit 10') or diag("$stdout\n$stderr");
like($stdout, qr/^public\.paths\s+5000\s+\d+\s+\S+\s+DIFFERENT: 0 missing, 0 extra, 1 changed$/m,
	'paths: 1 changed');
like($stdout, qr/^    changed: \(path\)=\(\{20,7\}\): columns v$/m, 'the changed row by key');
like($stdout, qr/^public\.spans\s+5000\s+\d+\s+\S+\s+DIFFERENT: 1 missing, 0 extra, 0 changed$/m,
	'spans: 1 missing');

$stream->kill_kill;
done_testing();
