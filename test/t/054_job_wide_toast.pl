# migration-split stream on a wide table whose UPDATEs leave different sets
# of TOASTed columns unchanged: each set gets its own prepared UPDATE, however
# many columns it names (a set is never confused with another that shares a
# long prefix).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

my @common = ('--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'w');

my $columns = join(', ', map { "c$_ text" } 1 .. 200);
my $values = join(', ', map { "(SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 100))" } 1 .. 200);
$src->safe_psql('postgres', qq{
CREATE EXTENSION migration_split;
CREATE TABLE wide (id int PRIMARY KEY, $columns);
INSERT INTO migration_split.domains (domain) VALUES ('w');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('wide', 'w');
INSERT INTO wide SELECT i, $values FROM generate_series(1, 3) i;
});

command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');

# two updates, each leaving 199 TOASTed columns unchanged, in sets that
# differ only near their end
$src->safe_psql('postgres', q{
UPDATE wide SET c196 = 'x196' WHERE id = 2;
UPDATE wide SET c197 = 'y197' WHERE id = 3;
});
command_ok([ 'migration-split', 'stream', @common, '--until-caught-up' ],
	'stream applies both updates');

my $digest = q{SELECT string_agg(md5(wide::text), ',' ORDER BY id) FROM %s};
is( $tgt->safe_psql('postgres', sprintf($digest, 'w.wide')),
	$src->safe_psql('postgres', sprintf($digest, 'public.wide')),
	'target equals source row for row');
is($tgt->safe_psql('postgres', q{SELECT c196 = 'x196', c197 = 'y197' FROM w.wide ORDER BY id}),
	"f|f\nt|f\nf|t", 'each update wrote its own column only');

done_testing();
