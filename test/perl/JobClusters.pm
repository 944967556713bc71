# Clusters for the replication job's TAP tests: a source that can decode
# with the migration_split output plugin, and a plain target.
package JobClusters;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;

our @EXPORT = qw(source_and_target);

# Start a source (wal_level = logical, the plugin allowed, plus any extra
# postgresql.conf lines given) and a target; return both nodes.
sub source_and_target
{
	my (%opts) = @_;
	my $src = PostgreSQL::Test::Cluster->new('source');
	$src->init(allows_streaming => 'logical');
	$src->append_conf('postgresql.conf',
		"output_plugin_libraries = 'pgoutput, test_decoding, migration_split'\n"
		  . ($opts{source_conf} // ''));
	$src->start;
	my $tgt = PostgreSQL::Test::Cluster->new('target');
	$tgt->init;
	$tgt->start;
	return ($src, $tgt);
}

1;
