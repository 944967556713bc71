# The extension installs and its catalog works on a server that does not
# preload the library.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('plain');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION migration_split');
is( $node->safe_psql(
		'postgres',
		"SELECT extversion FROM pg_extension WHERE extname = 'migration_split'"),
	'1.1',
	'extension installs without shared_preload_libraries');

$node->stop;
done_testing();
