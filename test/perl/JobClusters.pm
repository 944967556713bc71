# Clusters for the replication job's TAP tests: a source that can decode
# with the migration_split output plugin, and a plain target.
package JobClusters;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;

our @EXPORT = qw(source_and_target plugin_libraries_conf);

# The postgresql.conf line allowing the given output plugins, or "" when the
# server (postgres on PATH, as in every TAP run) does not know the setting
# output_plugin_libraries: only recent 15 minor releases (15.20) have it, and
# a server whose configuration sets an unknown setting refuses to start.  As
# test/plugin-libraries-conf.sh does for the other test configurations.
sub plugin_libraries_conf
{
	my (@plugins) = @_;
	my $described = `postgres --describe-config 2>/dev/null`;
	die "postgres --describe-config failed" if $? != 0;
	return '' unless $described =~ /^output_plugin_libraries\t/m;
	return "output_plugin_libraries = '" . join(', ', @plugins) . "'\n";
}

# Start a source (wal_level = logical, the plugin allowed, plus any extra
# postgresql.conf lines given) and a target (the same with target_logical
# => 1); return both nodes.
sub source_and_target
{
	my (%opts) = @_;
	my $src = PostgreSQL::Test::Cluster->new('source');
	$src->init(allows_streaming => 'logical');
	$src->append_conf('postgresql.conf',
		plugin_libraries_conf('pgoutput', 'test_decoding', 'migration_split')
		  . ($opts{source_conf} // ''));
	$src->start;
	my $tgt = PostgreSQL::Test::Cluster->new('target');
	if ($opts{target_logical})
	{
		# the service of a reverse stream (rollback) decodes too
		$tgt->init(allows_streaming => 'logical');
		$tgt->append_conf('postgresql.conf',
			plugin_libraries_conf('pgoutput', 'test_decoding', 'migration_split'));
	}
	else
	{
		$tgt->init;
	}
	$tgt->start;
	return ($src, $tgt);
}

1;
